"""`AsyncClient`: one user's session with a hubbub server, over HTTP and the live socket.

Every HTTP endpoint a user calls is a typed method (`AccountApi`, `BotsApi`, `ChatApi`,
`IntegrationsApi`); `connect` opens the live connection (`hubbub.client.live`), after
which `send` goes over it and the server's events come out, typed and ordered, through
`events()` and the handlers registered with `on`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

from pydantic import BaseModel

from hubbub.client.account import AccountApi
from hubbub.client.bots import BotsApi
from hubbub.client.chat import ChatApi, Id
from hubbub.client.events import Event, PresenceState
from hubbub.client.integrations import IntegrationsApi
from hubbub.client.link import Stats
from hubbub.client.live import Live
from hubbub.client.session import HttpSession, NotLoggedIn, body
from hubbub.client.stream import EventStream
from hubbub.wire.models import Me, MessagePublic
from hubbub.wire.socket import SendMessageEvent

log = logging.getLogger("hubbub.client")

E = TypeVar("E", bound=BaseModel)
Handler = Callable[[E], Awaitable[object]]


class AsyncClient(AccountApi, BotsApi, ChatApi, IntegrationsApi):
    """`AsyncClient(url, *more_urls)`: more addresses are other nodes of the same
    deployment, tried in turn when one does not answer."""

    def __init__(
        self,
        url: str,
        *more_urls: str,
        timeout: float = 30.0,
        auto_refresh: bool = True,
        gap_wait_s: float = 0.5,
        max_backoff_s: float = 5.0,
        user_agent: str = "hubbub-client",
    ) -> None:
        self._http = HttpSession(
            [url, *more_urls], timeout=timeout, auto_refresh=auto_refresh, user_agent=user_agent
        )
        self._live = Live(self._http, self, gap_wait_s=gap_wait_s, max_backoff_s=max_backoff_s)
        self._runner: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._handed: asyncio.Queue[Event] = asyncio.Queue()
        self._handlers: dict[type[BaseModel], list[Handler[Any]]] = {}
        self._streams: list[EventStream] = []

    # State ------------------------------------------------------------------------------

    @property
    def user(self) -> Me:
        if self._http.user is None:
            raise NotLoggedIn("log in (or register) first")
        return self._http.user

    @property
    def connected(self) -> bool:
        return self._live.sio is not None

    @property
    def stats(self) -> Stats:
        return self._live.stats

    @property
    def refreshes(self) -> int:
        """How many times the access token was refreshed."""
        return self._http.refreshes

    @property
    def positions(self) -> dict[uuid.UUID, int]:
        """Per followed conversation, the highest contiguous number handed on: store it
        and give it to `connect(resume_from=...)` to go on where a program stopped."""
        return self._live.ordering.numbers()

    # The live connection ----------------------------------------------------------------

    async def connect(
        self, *, resume_from: Mapping[uuid.UUID, int] | None = None, within: float = 30.0
    ) -> None:
        """Open the live connection (it reconnects by itself until `close`). Every
        conversation is followed from now on, or from `resume_from`'s numbers."""
        if self._runner is not None:
            raise RuntimeError("already connected (it reconnects by itself until close())")
        ordering = self._live.ordering
        for conversation_id, number in (resume_from or {}).items():
            ordering.track(conversation_id, number)
        for conversation in await self.all_conversations():
            ordering.track(conversation.id, conversation.last_seq)  # from now on
        loop = asyncio.get_running_loop()
        self._dispatcher = loop.create_task(self._dispatch())
        self._runner = loop.create_task(self._live.run())
        try:
            await asyncio.wait_for(self._live.up.wait(), within)
        except TimeoutError:
            await self._stop()  # not up in time: no connecting on in the background
            raise
        if self._live.failure is not None:
            await self._stop()
            raise self._live.failure

    async def run_forever(self) -> None:
        """Connect if not yet, then wait while the live connection runs (a bot's main
        loop); it ends with `close()`, or raises when the session ends."""
        if self._runner is None:
            await self.connect()
        assert self._runner is not None
        await self._runner
        if self._live.failure is not None:
            raise self._live.failure

    async def close(self) -> None:
        await self._stop()
        for stream in list(self._streams):
            stream.close()
        await self._http.close()

    async def _stop(self) -> None:
        for task in (self._runner, self._dispatcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._runner = self._dispatcher = None
        await self._live.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # Events -------------------------------------------------------------------------------

    def events(self) -> EventStream:
        """Every event from now on: `async for event in client.events()`."""
        stream = EventStream(self._streams)
        self._streams.append(stream)
        return stream

    def on(self, kind: type[E]) -> Callable[[Handler[E]], Handler[E]]:
        """`@client.on(NewMessage)`: call the handler with every event of that class (or
        a subclass), one at a time, in order."""

        def register(handler: Handler[E]) -> Handler[E]:
            self._handlers.setdefault(kind, []).append(handler)
            return handler

        return register

    async def joined(self) -> dict[uuid.UUID, int]:
        # After a reconnect: a conversation not followed yet was joined meanwhile; it is
        # followed from the user's read marker in it (its last number if not listed).
        me = self.user.id
        numbers: dict[uuid.UUID, int] = {}
        for conversation in await self.all_conversations():
            mine = [p for p in conversation.participants if p.user_id == me]
            numbers[conversation.id] = mine[0].last_read_seq if mine else conversation.last_seq
        return numbers

    def publish(self, event: Event) -> None:
        for stream in self._streams:
            stream.put(event)
        if self._handlers:
            self._handed.put_nowait(event)

    async def _dispatch(self) -> None:
        while True:
            event = await self._handed.get()
            for kind, handlers in list(self._handlers.items()):
                if not isinstance(event, kind):
                    continue
                for handler in handlers:
                    try:
                        await handler(event)
                    except Exception:
                        log.exception("a handler of %s failed", kind.__name__)

    # Live actions -----------------------------------------------------------------------

    async def send(
        self,
        conversation_id: Id,
        content: str = "",
        *,
        reply_to: Id | None = None,
        optimistic_id: str | None = None,
        **fields: Any,
    ) -> MessagePublic:
        """Send a message; connected, over the live socket, kept and sent again until
        acknowledged (the server stores it once); otherwise over HTTP. `fields`:
        `attachments`, `mentions`, `metadata`, `type`, `client_timestamp`."""
        oid = optimistic_id or uuid.uuid4().hex
        if self._runner is None:
            return await self.post_message(
                conversation_id, content, optimistic_id=oid, parent_message_id=reply_to, **fields
            )
        payload = body(
            SendMessageEvent,
            conversation_id=conversation_id,
            content=content,
            optimistic_id=oid,
            parent_message_id=reply_to,
            **fields,
        )
        return await self._live.send(payload)

    async def typing(self, conversation_id: Id) -> None:
        await self._live.emit("typing", {"conversationId": str(conversation_id)})

    async def stop_typing(self, conversation_id: Id) -> None:
        await self._live.emit("stop_typing", {"conversationId": str(conversation_id)})

    async def mark_delivered(self, conversation_id: Id, message_id: Id) -> None:
        await self._live.emit(
            "mark_as_delivered",
            {"conversationId": str(conversation_id), "messageId": str(message_id)},
        )

    async def presence(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, PresenceState]:
        """Who is online, among users who share a conversation or space with the caller."""
        ack = await self._live.emit("get_presence", {"userIds": [str(u) for u in user_ids]})
        return {
            uuid.UUID(user_id): PresenceState.model_validate(state)
            for user_id, state in ack["presence"].items()
        }

"""The live connection: Socket.IO on `/messaging`, kept up, resumed, and its sends kept.

`Live.run` connects with the current access token (refreshed first if it is about to
expire, and once more when the handshake answers `unauthorized`), and after any loss
connects again with a growing, jittered delay, trying the client's next address when
one does not answer. After every connection it resumes each followed conversation with
`sync` from its highest contiguous number (`hubbub.client.ordering`), paging while
`hasMore`, and sends again every message not yet acknowledged, with the same
`optimisticId`, which the server stores once (docs/socket-protocol.md, Sending). A gap
in a conversation's numbers that stays open `gap_wait_s` is closed with a `sync` too.

Each server event is handled in full as it comes (no await between reading it and
handing on what it completes), so what the client publishes is in the order it made it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import socketio
from pydantic import ValidationError

from hubbub.client.events import (
    MESSAGE_EVENTS,
    PASSED_ON,
    Connected,
    ConversationCreated,
    Disconnected,
)
from hubbub.client.link import Outgoing, Sink, Stats, dispose
from hubbub.client.ordering import Ordering
from hubbub.client.session import CommandSent, HttpSession, HubbubError, NotLoggedIn
from hubbub.wire.events import (
    ConnectionSuccessPayload,
    MessagePayload,
    MessageSentPayload,
    SocketError,
)
from hubbub.wire.models import ChangesPage, MessagePublic

log = logging.getLogger("hubbub.client")

NAMESPACE = "/messaging"
SYNC_BATCH = 1000  # conversations per `sync` (the protocol's limit)
RETRIED_CODES = ("rate_limited", "unavailable")


class Live:
    def __init__(
        self,
        http: HttpSession,
        sink: Sink,
        *,
        gap_wait_s: float = 0.5,
        max_backoff_s: float = 5.0,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self._http = http
        self._sink = sink
        self._gap_wait_s = gap_wait_s
        self._max_backoff_s = max_backoff_s
        self._ack_timeout_s = ack_timeout_s
        self.ordering = Ordering()
        self.stats = Stats()
        self.sio: socketio.AsyncClient | None = None  # while connected
        self.up = asyncio.Event()  # set once the first connection is resumed
        self.failure: BaseException | None = None  # why `run` gave up
        self._outbox: dict[str, Outgoing] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._hello: ConnectionSuccessPayload | None = None
        self._lost = asyncio.Event()
        self._refusal: str | None = None  # the server's reason for refusing a handshake

    # The connection loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Connect, and connect again after every loss, until cancelled (`close`)."""
        failures = 0
        reconnect = False
        while True:
            sio = self._socket()
            try:
                failures = await self._hold(sio, failures, reconnect=reconnect)
            finally:
                # Here only, once per socket: also when `close` cancels the loop.
                self.sio = None
                await dispose(sio)
            if self.failure is not None:
                self._fail_sends(self.failure)
                return
            reconnect = reconnect or failures == 0

    async def _hold(self, sio: socketio.AsyncClient, failures: int, *, reconnect: bool) -> int:
        """One connection, from its handshake to its loss; the failures in a row after it."""
        try:
            await self._connect(sio)
        except (
            socketio.exceptions.ConnectionError,
            httpx.TransportError,
            OSError,
            TimeoutError,
        ) as exc:
            self._http.next_address()
            log.info("connection failed (%s); retrying", exc)
            await asyncio.sleep(self._backoff(failures + 1))
            return failures + 1
        except (HubbubError, NotLoggedIn) as exc:
            if isinstance(exc, HubbubError) and exc.status != 401:
                # The server is busy or unwell: try again later.
                await asyncio.sleep(self._backoff(failures + 1))
                return failures + 1
            # The session is gone: its refresh was refused, or it was logged out.
            self.failure = exc
            self.up.set()
            return failures
        self.sio = sio
        self.stats.connects += 1
        self._spawn(self._resume(sio, reconnect=reconnect))
        await self._lost.wait()
        self._lost.clear()
        self.sio = None
        self.stats.disconnects += 1
        self._sink.publish(Disconnected(reason="connection lost"))
        return 0

    def _socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)

        async def on_any(event: str, data: Any = None) -> None:
            self._on_event(event, data)

        async def on_disconnect(*_: Any) -> None:
            if self.sio is sio:
                self._lost.set()

        async def on_connect_error(data: Any = None) -> None:
            # python-socketio raises "One or more namespaces failed to connect" whatever
            # the reason: the server's reason comes here, as `{"message": ...}`.
            reason = data.get("message") if isinstance(data, dict) else data
            self._refusal = str(reason)

        sio.on("*", on_any, namespace=NAMESPACE)
        sio.on("disconnect", on_disconnect, namespace=NAMESPACE)
        sio.on("connect_error", on_connect_error, namespace=NAMESPACE)
        return sio

    async def _connect(self, sio: socketio.AsyncClient) -> None:
        token = await self._http.access_token()
        self._refusal = None
        try:
            await self._dial(sio, token)
        except socketio.exceptions.ConnectionError:
            if self._refusal != "unauthorized":
                raise
            # The token was refused (revoked meanwhile, or expired in flight): one
            # refresh, then one more try; a refused refresh ends the session.
            await dispose(sio)
            await self._http.refresh(token)
            await self._dial(sio, await self._http.access_token())

    async def _dial(self, sio: socketio.AsyncClient, token: str) -> None:
        await sio.connect(
            self._http.base,
            namespaces=[NAMESPACE],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=10,
        )

    def _backoff(self, failures: int) -> float:
        # Jittered so that clients cut together do not all come back together (not a
        # secret: `random` is right here).
        ceiling = min(self._max_backoff_s, 0.1 * 2**failures)
        return float(ceiling * (0.5 + random.random() / 2))  # noqa: S311

    async def close(self) -> None:
        """Stop what runs beside the loop (the caller cancels `run`, which closes the
        socket) and fail the sends still waiting."""
        for task in list(self._tasks):
            task.cancel()
        self._fail_sends(ConnectionError("the client was closed"))

    def _fail_sends(self, why: BaseException) -> None:
        for out in self._outbox.values():
            if not out.done.done():
                out.done.set_exception(why)
        self._outbox.clear()

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Resume ------------------------------------------------------------------------------

    async def _resume(self, sio: socketio.AsyncClient, *, reconnect: bool) -> None:
        for oid in list(self._outbox):
            if reconnect:
                self.stats.resent += 1
            self._spawn(self._deliver(sio, oid))
        if reconnect:
            self.stats.resumes += 1
            # Conversations joined while the connection was down are followed too.
            try:
                for conversation_id, number in (await self._sink.joined()).items():
                    self.ordering.track(conversation_id, number)
            except (HubbubError, httpx.TransportError) as exc:
                log.info("could not list the conversations (%s)", exc)
        # Also on the first connection: what changed since the numbers the client
        # started from (`resume_from`, or the conversation list read just before).
        if not await self._sync(sio, list(self.ordering.positions)):
            return  # lost again: the next connection resumes
        hello = self._hello
        if hello is not None:
            self._sink.publish(Connected(**dict(hello), reconnect=reconnect))
        self.up.set()

    async def _sync(self, sio: socketio.AsyncClient, conversation_ids: Iterable[uuid.UUID]) -> bool:
        """Every change after each conversation's number, handed on; False if the
        connection was lost meanwhile (nothing is then handed on from this round)."""
        positions = self.ordering.positions
        want = {cid: positions[cid].contiguous for cid in conversation_ids if cid in positions}
        for cid in want:
            positions[cid].syncing = True
        found: dict[uuid.UUID, list[MessagePublic]] = {cid: [] for cid in want}
        last: dict[uuid.UUID, int] = {}
        try:
            while want:
                more: dict[uuid.UUID, int] = {}
                batch = list(want.items())
                for start in range(0, len(batch), SYNC_BATCH):
                    asked = dict(batch[start : start + SYNC_BATCH])
                    pages, removed = await self._sync_call(sio, asked)
                    for cid in removed:
                        self.ordering.forget(cid)
                        found.pop(cid, None)
                    for cid, page in pages.items():
                        found[cid] += page.changes
                        last[cid] = page.last_seq
                        if page.has_more:
                            more[cid] = page.last_seq
                want = more
        except (socketio.exceptions.SocketIOError, HubbubError) as exc:
            log.info("sync did not finish (%s); the next connection resumes", exc)
            for cid in found:
                if cid in positions:
                    positions[cid].syncing = False
            return False
        for cid, changes in found.items():
            for event in self.ordering.synced(cid, changes, last.get(cid, 0)):
                self._sink.publish(event)
            self._watch_gap(cid)
        return True

    async def _sync_call(
        self, sio: socketio.AsyncClient, asked: dict[uuid.UUID, int]
    ) -> tuple[dict[uuid.UUID, ChangesPage], list[uuid.UUID]]:
        payload = {"conversations": {str(cid): n for cid, n in asked.items()}, "limit": 100}
        while True:
            ack = await sio.call("sync", payload, namespace=NAMESPACE, timeout=self._ack_timeout_s)
            if ack.get("ok"):
                pages = {
                    uuid.UUID(cid): ChangesPage.model_validate(page)
                    for cid, page in ack["conversations"].items()
                }
                return pages, [uuid.UUID(cid) for cid in ack.get("removed", [])]
            error = SocketError.model_validate(ack["error"])
            if error.code not in RETRIED_CODES:
                raise HubbubError(0, error.code, error.message)
            await asyncio.sleep(error.retry_after or 1.0)

    def _watch_gap(self, conversation_id: uuid.UUID) -> None:
        position = self.ordering.positions.get(conversation_id)
        if position is None or position.syncing or not position.pending:
            return
        position.syncing = True
        self._spawn(self._close_gap(conversation_id))

    async def _close_gap(self, conversation_id: uuid.UUID) -> None:
        # The missing change is usually on its way (two nodes, two tasks): wait a little.
        await asyncio.sleep(self._gap_wait_s)
        sio = self.sio
        position = self.ordering.positions.get(conversation_id)
        if position is None:
            return
        if sio is None or not position.pending:
            position.syncing = False
            self._watch_gap(conversation_id)
            return
        self.stats.gap_syncs += 1
        await self._sync(sio, [conversation_id])

    # Server events -----------------------------------------------------------------------

    def _on_event(self, event: str, data: Any) -> None:
        try:
            if event in MESSAGE_EVENTS:
                self._heard(MessagePayload.model_validate(data).message)
            elif event == "message_sent":
                self._sent(MessageSentPayload.model_validate(data).message)
            elif event == "connection_success":
                self._hello = ConnectionSuccessPayload.model_validate(data)
            elif (kind := PASSED_ON.get(event)) is not None:
                passed = kind.model_validate(data)
                if isinstance(passed, ConversationCreated):
                    # Followed from its number as the event left the server.
                    self.ordering.track(passed.conversation.id, passed.conversation.last_seq)
                self._sink.publish(passed)  # type: ignore[arg-type]
        except ValidationError as exc:
            # A server newer than this client: the event is skipped, the rest goes on.
            log.warning("could not read a %r event: %s", event, exc)

    def _heard(self, message: MessagePublic) -> None:
        for event in self.ordering.live(message):
            self._sink.publish(event)
        self._watch_gap(message.conversation_id)

    def _sent(self, message: MessagePublic) -> None:
        out = self._outbox.pop(message.optimistic_id or "", None)
        if out is not None and not out.done.done():
            out.done.set_result(message)
        self._heard(message)

    # Sending -----------------------------------------------------------------------------

    async def send(self, payload: dict[str, Any]) -> MessagePublic:
        """Send until acknowledged, across reconnects, with the same `optimisticId`."""
        if self.failure is not None:
            raise self.failure
        oid = payload["optimisticId"]
        out = Outgoing(payload, asyncio.get_running_loop().create_future())
        self._outbox[oid] = out
        if self.sio is not None:
            self._spawn(self._deliver(self.sio, oid))
        return await out.done

    def _current(self, sio: socketio.AsyncClient) -> bool:
        return self.sio is sio

    async def _deliver(self, sio: socketio.AsyncClient, oid: str) -> None:
        while True:
            out = self._outbox.get(oid)
            if not self._current(sio) or out is None:
                return
            try:
                ack = await sio.call(
                    "send_message", out.payload, namespace=NAMESPACE, timeout=self._ack_timeout_s
                )
            except socketio.exceptions.SocketIOError:
                # A timeout, or the connection going: again on this connection, or
                # after the reconnect.
                await asyncio.sleep(0.05)
                continue
            if ack.get("ok") and "command" in ack:  # a slash command: nothing was posted
                self._outbox.pop(oid, None)
                if not out.done.done():
                    out.done.set_exception(CommandSent(ack["command"]))
                return
            if ack.get("ok"):
                self._sent(MessagePublic.model_validate(ack["message"]))
                return
            error = SocketError.model_validate(ack["error"])
            if error.code in RETRIED_CODES:
                await asyncio.sleep(error.retry_after or 1.0)
                continue
            self._outbox.pop(oid, None)
            if not out.done.done():
                out.done.set_exception(HubbubError(0, error.code, error.message))
            return

    async def emit(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """A client event with an ack (typing, markers, presence); raises `HubbubError`
        on a refusal and `ConnectionError` when the connection is down."""
        sio = self.sio
        if sio is None:
            raise ConnectionError("the live connection is down; it is reconnecting")
        ack: dict[str, Any] = await sio.call(
            event, data, namespace=NAMESPACE, timeout=self._ack_timeout_s
        )
        if not ack.get("ok"):
            error = SocketError.model_validate(ack["error"])
            raise HubbubError(0, error.code, error.message, error.retry_after)
        return ack

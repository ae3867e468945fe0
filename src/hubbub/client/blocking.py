"""`Client`: the SDK for scripts, without `async`. It runs an `AsyncClient` on an event
loop in a thread of its own and waits for each call."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from hubbub.client.chat import Id
from hubbub.client.client import AsyncClient
from hubbub.wire.models import ConversationPublic, Me, MessagePublic, UserPublic

T = TypeVar("T")


class Client:
    """`Client(url).login(name, password)`, then `.send(conversation_id, text)`,
    `.conversations()`, ...; `.run(client.aio.<method>(...))` for anything else."""

    def __init__(self, url: str, *more_urls: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="hubbub-client", daemon=True
        )
        self._thread.start()
        self.aio: AsyncClient = self.run(_made(url, more_urls, options))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of `aio` on the client's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def login(self, name_or_email: str, password: str) -> Me:
        return self.run(self.aio.login(name_or_email, password))

    def register(self, username: str, email: str, password: str) -> Me:
        return self.run(self.aio.register(username, email, password))

    def logout(self) -> None:
        self.run(self.aio.logout())

    def me(self) -> Me:
        return self.run(self.aio.me())

    def conversations(self) -> list[ConversationPublic]:
        return self.run(self.aio.all_conversations())

    def create_group(self, name: str, participant_ids: list[uuid.UUID]) -> ConversationPublic:
        return self.run(self.aio.create_group(name, participant_ids))

    def search_users(self, q: str) -> list[UserPublic]:
        return self.run(self.aio.search_users(q)).users

    def send(self, conversation_id: Id, text: str, **fields: Any) -> MessagePublic:
        return self.run(self.aio.send(conversation_id, text, **fields))

    def messages(self, conversation_id: Id, *, limit: int = 50) -> list[MessagePublic]:
        """The newest `limit` messages, oldest first."""
        return self.run(self.aio.messages(conversation_id, limit=limit)).messages

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.run(self.aio.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


async def _made(url: str, more_urls: tuple[str, ...], options: dict[str, Any]) -> AsyncClient:
    # Made on the client's own loop, which its tasks and locks belong to.
    return AsyncClient(url, *more_urls, **options)

"""`client.events()`: one subscriber's queue of events, read with `async for`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from hubbub.client.events import Event

E = TypeVar("E")


class EventStream:
    """Every event published after it was made, in order, until `close()` (or the
    client's). Unbounded: a program that stops reading keeps its events."""

    def __init__(self, subscribers: list[EventStream]) -> None:
        self._subscribers = subscribers
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def put(self, event: Event) -> None:
        self._queue.put_nowait(event)

    def close(self) -> None:
        if self in self._subscribers:
            self._subscribers.remove(self)
            self._queue.put_nowait(None)

    def drain(self) -> list[Event]:
        """The events already waiting, without waiting for more."""
        waiting: list[Event] = []
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is None:
                self._queue.put_nowait(None)  # closed: `async for` still ends
                break
            waiting.append(event)
        return waiting

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def next(
        self, kind: type[E], where: Callable[[E], Any] = lambda _: True, *, within: float = 10.0
    ) -> E:
        """The next event of that class matching `where` (the others are passed over)."""
        async with asyncio.timeout(within):
            async for event in self:
                if isinstance(event, kind) and where(event):
                    return event
        raise ConnectionError("the client was closed")

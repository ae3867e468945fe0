"""Every socket's queues and events, smaller: lists where asyncio keeps deques.

Part of the socket edge, beneath `engine.py`. Each open WebSocket holds two
`asyncio.Queue`s (Engine.IO's packets out, uvicorn's ASGI messages in) and uvicorn's
`writable` Event. asyncio gives each a deque per list of waiters and of items, 760 bytes
each even when empty: eight deques, 5.9 KiB of the 29.5 KiB that tracemalloc traced per
idle socket (`python bench/memory_probe.py`). At most one task waits on each of these,
and their items are few (a WebSocket's writer takes them as they come), so a list with
deque's `popleft` (56 bytes empty) does the same work: `slim_queue` and `slim_event`
swap them in. A queue that never waits to put (an unbounded one) shares one empty,
zero-length deque as its putters.

The swap relies on which attributes asyncio's Queue and Event keep their waiters and
items in, and which methods it calls on them; `tests/test_library_internals.py` holds
asyncio to both, and `tests/test_socket_queues.py` drives the slimmed queue and event
through waits, wake-ups and cancellations.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Protocol

# python-engineio clients refuse a long-polling response of more than 16 packets (and
# disconnect); a burst of events can queue more than that for one socket.
MAX_PACKETS_PER_POLL = 16


class Line(list[Any]):
    """A list that asyncio can use as a deque of waiters or items: append, popleft,
    remove, iterate, len. Popping the head of a list moves the rest, which is nothing
    for the one to few entries these hold."""

    __slots__ = ()

    def popleft(self) -> Any:
        return self.pop(0)


# The putters of every unbounded queue: a put never waits, so nothing is ever added (a
# zero-length deque would drop it anyway).
NO_PUTTERS: collections.deque[Any] = collections.deque(maxlen=0)


def slim_queue(queue: asyncio.Queue[Any]) -> None:
    """Swap `queue`'s deques for lines, keeping what they hold. Only for an unbounded
    queue: its putters become the shared empty deque. Nothing here awaits, so no getter
    or item can slip between the copy and the swap."""
    if queue.maxsize > 0:
        raise ValueError("a bounded queue's putters wait: keep its deques")
    state: Any = queue  # asyncio's private attributes, held by the internals test
    state._getters = Line(state._getters)
    state._queue = Line(state._queue)
    state._putters = NO_PUTTERS
    slim_event(state._finished)


def slim_event(event: asyncio.Event) -> None:
    """Swap `event`'s deque of waiters for a line, keeping any waiter."""
    state: Any = event
    state._waiters = Line(state._waiters)


class Drainer(Protocol):
    """What writes a queue's packets out when they come (`CountingQueue.drainer`)."""

    def drain_soon(self) -> None:
        """A packet was put: have it written, by the writer that runs or a new one."""


class CountingQueue(asyncio.Queue[Any]):
    """A socket's Engine.IO queue that knows how many packets its writer has taken and
    not yet written (`taken`), and hands out at most `MAX_PACKETS_PER_POLL` per wait
    (Engine.IO's `poll` takes one with `get`, then drains with `get_nowait`). Its
    waiters and items are lines (`slim_queue`). With a `drainer` (a session opened over
    WebSocket, `keepalive.OpenedOverWebSocket`), every put tells it, so that no writer
    needs to wait on an empty queue."""

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0
        self._budget = MAX_PACKETS_PER_POLL
        self.drainer: Drainer | None = None
        slim_queue(self)

    def _put(self, item: Any) -> None:
        # Every way into an asyncio.Queue (put, put_nowait) puts its item here.
        super()._put(item)
        if self.drainer is not None:
            self.drainer.drain_soon()

    async def get(self) -> Any:
        self._budget = MAX_PACKETS_PER_POLL
        return await super().get()

    def get_nowait(self) -> Any:
        if self._budget <= 0:
            raise asyncio.QueueEmpty  # the rest goes with the next poll
        item = super().get_nowait()
        self._budget -= 1
        return item

    def _get(self) -> Any:
        # Every way out of an asyncio.Queue (get, get_nowait) takes its item here.
        item = super()._get()
        if item is not None:
            self.taken += 1
        return item

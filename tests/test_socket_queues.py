"""Every socket's queues and events with lines for deques (`hubbub.edge.socket.queues`):
they wait, wake, keep order and let go of cancelled waiters as asyncio's own do, and
hold no deque of their own once slimmed."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import pytest

from hubbub.edge.socket.queues import (
    MAX_PACKETS_PER_POLL,
    NO_PUTTERS,
    CountingQueue,
    Line,
    slim_event,
    slim_queue,
)


def _deques(obj: Any) -> list[Any]:
    return [value for value in vars(obj).values() if isinstance(value, collections.deque)]


def _slimmed() -> asyncio.Queue[Any]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    slim_queue(queue)
    return queue


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_a_line_pops_from_its_head() -> None:
    line = Line([1, 2, 3])
    assert line.popleft() == 1
    assert line == [2, 3]
    assert not hasattr(line, "__dict__")  # no instance dictionary: 56 bytes empty


@pytest.mark.parametrize("make", [_slimmed, CountingQueue], ids=["slimmed", "counting"])
async def test_a_slimmed_queue_holds_only_the_shared_putters_as_a_deque(make: Any) -> None:
    queue = make()
    assert _deques(queue) == [NO_PUTTERS]
    assert _deques(queue._finished) == []
    queue.put_nowait("a")
    queue.put_nowait(None)
    assert queue.qsize() == 2
    assert queue.get_nowait() == "a"
    assert await queue.get() is None
    assert queue.empty()
    assert not NO_PUTTERS  # nothing was ever added to the shared putters


@pytest.mark.parametrize("make", [_slimmed, CountingQueue], ids=["slimmed", "counting"])
async def test_waiting_getters_are_woken_in_order_and_a_cancelled_one_is_let_go(
    make: Any,
) -> None:
    queue = make()
    first = asyncio.create_task(queue.get())
    cancelled = asyncio.create_task(queue.get())
    last = asyncio.create_task(queue.get())
    await _settle()
    assert len(queue._getters) == 3
    cancelled.cancel()
    await _settle()
    assert len(queue._getters) == 2
    queue.put_nowait("one")
    queue.put_nowait("two")
    assert await first == "one"
    assert await last == "two"
    assert cancelled.cancelled()
    assert len(queue._getters) == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_slimming_keeps_the_items_and_the_waiting_getter() -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    waiting = asyncio.create_task(queue.get())
    await _settle()
    slim_queue(queue)
    queue.put_nowait("for the getter")
    assert await waiting == "for the getter"

    full: asyncio.Queue[Any] = asyncio.Queue()
    for item in ("x", "y"):
        full.put_nowait(item)
    slim_queue(full)
    assert isinstance(full._queue, Line)  # type: ignore[attr-defined]
    assert [full.get_nowait(), full.get_nowait()] == ["x", "y"]


def test_a_bounded_queue_keeps_its_deques() -> None:
    bounded: asyncio.Queue[Any] = asyncio.Queue(maxsize=4)
    with pytest.raises(ValueError, match="bounded"):
        slim_queue(bounded)
    assert len(_deques(bounded)) == 3  # unchanged: its putters may wait


async def test_a_slimmed_event_wakes_its_waiters_and_lets_a_cancelled_one_go() -> None:
    event = asyncio.Event()
    early = asyncio.create_task(event.wait())
    await _settle()
    slim_event(event)  # a waiter from before the swap is kept
    assert _deques(event) == []
    cancelled = asyncio.create_task(event.wait())
    await _settle()
    cancelled.cancel()
    await _settle()
    assert len(event._waiters) == 1  # type: ignore[attr-defined]
    event.set()
    assert await early is True
    event.clear()
    later = asyncio.create_task(event.wait())
    await _settle()
    assert not later.done()
    event.set()
    assert await later is True
    assert len(event._waiters) == 0  # type: ignore[attr-defined]


async def test_a_counting_queue_counts_what_its_writer_took_and_caps_a_poll() -> None:
    queue = CountingQueue()
    for n in range(MAX_PACKETS_PER_POLL + 3):
        queue.put_nowait(n)
    taken = [await queue.get()]
    while True:
        try:
            taken.append(queue.get_nowait())
        except asyncio.QueueEmpty:
            break
    # A poll of at most MAX_PACKETS_PER_POLL (asyncio's get takes its item through
    # get_nowait when one is there, which counts against the budget too).
    assert taken == list(range(MAX_PACKETS_PER_POLL))
    assert queue.taken == MAX_PACKETS_PER_POLL
    assert queue.qsize() == 3  # the rest goes with the next poll
    queue.put_nowait(None)  # the end of the session is not a packet taken
    rest = [await queue.get(), queue.get_nowait(), queue.get_nowait(), queue.get_nowait()]
    assert rest == [16, 17, 18, None]
    assert queue.taken == MAX_PACKETS_PER_POLL + 3


@pytest.mark.parametrize("make", [_slimmed, CountingQueue], ids=["slimmed", "counting"])
async def test_join_waits_until_every_item_is_done(make: Any) -> None:
    # Engine.IO's close(wait=True) joins a socket's queue.
    queue = make()
    queue.put_nowait("packet")
    joined = asyncio.create_task(queue.join())
    await _settle()
    assert not joined.done()
    assert queue.get_nowait() == "packet"
    queue.task_done()
    await asyncio.wait_for(joined, 1)

"""One contract, every implementation: the typing state seam.

`start` answers whether the state changed (not typing -> typing) and sets the expiry to
`ttl_s` from now, `stop` whether the user was typing, `remaining` how long until the
state lapses (0.0 when there is none). Per (conversation, user); a lapsed state is no
state. Redis typing state is one for every node of a deployment; memory typing state is
one process's own, so each node sees only what its own sockets started: those cases are
marked with `only`.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from hubbub.realtime.typing import MemoryTypingState, RedisTypingState, TypingState
from tests.seams import Seam, only

# Short enough to watch a state lapse, long enough for a loaded machine's round trips.
TTL_S = 0.4
# How far `remaining` may read above the exact value (Redis counts whole milliseconds).
TICK_S = 0.001


def typing_node(seam: Seam) -> TypingState:
    """A node's typing state: for Redis, over the test's shared prefix."""
    if seam.kind == "memory":
        return MemoryTypingState()
    return RedisTypingState(seam.client, seam.prefix)


@pytest.fixture
def typing(seam: Seam) -> TypingState:
    return typing_node(seam)


def ids() -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.uuid4(), uuid.uuid4()


async def test_nobody_is_typing_at_first(typing: TypingState) -> None:
    c, u = ids()
    assert await typing.remaining(c, u) == 0.0
    assert await typing.stop(c, u) is False
    assert await typing.remaining(c, u) == 0.0


async def test_start_and_stop_report_changes_only(typing: TypingState) -> None:
    c, u = ids()
    assert await typing.start(c, u, 5.0) is True
    assert await typing.start(c, u, 5.0) is False
    assert await typing.start(c, u, 5.0) is False
    assert await typing.stop(c, u) is True
    assert await typing.stop(c, u) is False
    assert await typing.remaining(c, u) == 0.0
    assert await typing.start(c, u, 5.0) is True


async def test_remaining_counts_down_from_the_ttl(typing: TypingState) -> None:
    c, u = ids()
    await typing.start(c, u, 5.0)
    first = await typing.remaining(c, u)
    assert 4.8 < first <= 5.0
    await asyncio.sleep(0.2)
    second = await typing.remaining(c, u)
    assert 4.6 < second <= first - 0.2 + TICK_S


async def test_a_repeat_sets_the_expiry_from_now(typing: TypingState) -> None:
    c, u = ids()
    assert await typing.start(c, u, TTL_S) is True
    for _ in range(3):  # half a TTL apart: 1.5 TTL in all
        await asyncio.sleep(TTL_S / 2)
        assert await typing.start(c, u, TTL_S) is False
        assert TTL_S * 0.75 < await typing.remaining(c, u) <= TTL_S
    # The latest start decides, even when it shortens the expiry.
    assert await typing.start(c, u, 60.0) is False
    assert 59.8 < await typing.remaining(c, u) <= 60.0
    assert await typing.start(c, u, 0.5) is False
    assert 0.3 < await typing.remaining(c, u) <= 0.5
    assert await typing.stop(c, u) is True


async def test_a_state_lapses_after_its_ttl(typing: TypingState) -> None:
    c, u1 = ids()
    u2 = uuid.uuid4()
    assert await typing.start(c, u1, TTL_S) is True
    assert await typing.start(c, u2, TTL_S) is True
    assert await typing.remaining(c, u1) > 0.0
    await asyncio.sleep(TTL_S * 1.5)
    assert await typing.remaining(c, u1) == 0.0
    assert await typing.stop(c, u1) is False
    # Typing again after the lapse is a change again.
    assert await typing.start(c, u2, TTL_S) is True
    assert await typing.stop(c, u2) is True


async def test_a_start_as_the_state_lapses_still_leaves_it_set(typing: TypingState) -> None:
    """Whatever `start` answers at the very moment the old state lapses, the state is
    there afterwards, with the new expiry."""
    c, u = ids()
    for _ in range(100):
        await typing.start(c, u, 0.003)
        await asyncio.sleep(0.0028)
        await typing.start(c, u, 5.0)
        assert 4.9 < await typing.remaining(c, u) <= 5.0
        assert await typing.stop(c, u) is True


async def test_conversations_and_users_are_apart(typing: TypingState) -> None:
    c1, u1 = ids()
    c2, u2 = ids()
    assert await typing.start(c1, u1, 5.0) is True
    assert await typing.remaining(c1, u2) == 0.0
    assert await typing.remaining(c2, u1) == 0.0
    assert await typing.start(c1, u2, 5.0) is True
    assert await typing.start(c2, u1, 5.0) is True
    assert await typing.stop(c1, u1) is True
    assert await typing.remaining(c1, u1) == 0.0
    assert await typing.remaining(c1, u2) > 4.0
    assert await typing.remaining(c2, u1) > 4.0
    assert await typing.stop(c2, u2) is False


@only(
    "redis",
    "memory: one node only; each sees its own sockets' typing (test_memory_nodes_keep_their_own)",
)
async def test_nodes_share_typing(seam: Seam) -> None:
    a, b = typing_node(seam), typing_node(seam)
    c, u = ids()
    assert await a.start(c, u, TTL_S) is True
    assert await b.start(c, u, TTL_S) is False  # typing already, as another node said
    await asyncio.sleep(TTL_S / 2)
    # Node a's expiry timer learns that node b refreshed the state meanwhile.
    assert await b.start(c, u, TTL_S) is False
    assert TTL_S * 0.75 < await a.remaining(c, u) <= TTL_S
    assert await a.stop(c, u) is True
    assert await b.stop(c, u) is False
    assert await b.remaining(c, u) == 0.0


@only("memory", "redis: nodes share one typing state (test_nodes_share_typing)")
async def test_memory_nodes_keep_their_own(seam: Seam) -> None:
    a, b = typing_node(seam), typing_node(seam)
    c, u = ids()
    assert await a.start(c, u, 5.0) is True
    assert await b.remaining(c, u) == 0.0
    assert await b.start(c, u, 5.0) is True
    assert await a.stop(c, u) is True
    assert await b.remaining(c, u) > 4.0
    assert await b.stop(c, u) is True

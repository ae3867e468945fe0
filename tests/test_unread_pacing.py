"""The live unread counts' pacing (`hubbub.realtime.unread`): flushes come `interval_s`
apart, further apart after a flush that took long, so that flushing keeps to its share
of the node's time (`FLUSH_DUTY`); and a flush reads a chunk of users at a time."""

from __future__ import annotations

import uuid
from collections.abc import Collection

import pytest

from hubbub.metrics import Metrics
from hubbub.realtime import unread
from hubbub.realtime.hub import Hub
from hubbub.realtime.sockets import SocketState
from hubbub.realtime.unread import FLUSH_DUTY, Counts, flush_gap
from tests.test_hub import FakeTransport
from tests.test_welcomes import no_circles, no_conversations


@pytest.mark.parametrize(
    ("interval_s", "took_s", "gap_s"),
    [
        (0.25, 0.0, 0.25),  # an instant flush: the configured interval
        (0.25, 0.01, 0.25),  # a cheap one: still the interval
        (0.25, 0.25 * FLUSH_DUTY, 0.25),  # exactly its share of the interval
        (0.25, 0.27, 0.27 / FLUSH_DUTY),  # a room of 5,000: spaced to keep its share
        (2.0, 0.3, 2.0),  # a longer interval configured: kept
    ],
)
def test_a_long_flush_spaces_the_next_one(interval_s: float, took_s: float, gap_s: float) -> None:
    assert flush_gap(interval_s, took_s) == pytest.approx(gap_s)
    assert took_s <= FLUSH_DUTY * flush_gap(interval_s, took_s) + 1e-12


async def test_a_flush_reads_the_counts_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A big room's flush is several reads, each followed by its users' counts, so that a
    send waiting meanwhile is not held for the whole room's read."""
    monkeypatch.setattr(unread, "READ_CHUNK", 2)
    transport = FakeTransport()
    hub = Hub(transport, Metrics(), circles_of=no_circles, conversations_of=no_conversations)
    cid = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(5)]
    sockets = []
    for i, uid in enumerate(users):
        state = SocketState(f"s{i}", f"e{i}", uid, f"u{i}", uuid.uuid4())
        hub.add(state)
        hub.join_member(state, [cid])
        sockets.append(state)
    reads: list[list[uuid.UUID]] = []

    async def read(user_ids: Collection[uuid.UUID]) -> Counts:
        reads.append(list(user_ids))
        return {uid: {cid: (users.index(uid) + 1, 0)} for uid in user_ids}

    coalescer = unread.UnreadCoalescer(hub, read, interval_s=0.25)
    await coalescer._flush({uid: {cid} for uid in users})

    assert reads == [users[0:2], users[2:4], users[4:5]]
    for i, state in enumerate(sockets):
        [(name, payload)] = transport.events(state)
        assert name == "unread_count"
        assert payload["unreadCount"] == i + 1
        assert payload["totalUnread"] == i + 1

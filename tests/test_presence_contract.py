"""One contract, every implementation: the presence state seam.

Within one node both implementations answer alike: `connected` / `disconnected` return
how many sockets the user has left, `online` says who has any, and `refresh` keeps a
connected socket's entry alive. Across nodes they differ by design: Redis presence is
one state for every node of a deployment (a node's entries lapse `ttl_s` after its last
refresh, so a node that dies without a goodbye does not keep its users online), while
memory presence is one process's own, so each node counts only its own sockets and its
entries never lapse. Those cases are marked with `only`.

Last-seen is not part of this seam: it is a column the user service writes when the
gateway announces `user_offline`.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from hubbub.realtime.presence import MemoryPresence, Presence, RedisPresence
from tests.seams import Seam, only

# Short enough to watch an entry lapse, long enough for a loaded machine's round trips.
TTL_S = 0.4


def presence_node(seam: Seam, node: str = "a", *, ttl_s: float = 60.0) -> Presence:
    """Node `node`'s presence: for Redis, over the test's shared prefix."""
    if seam.kind == "memory":
        return MemoryPresence()
    return RedisPresence(seam.client, seam.prefix, node_id=node, ttl_s=ttl_s)


@pytest.fixture
def presence(seam: Seam) -> Presence:
    return presence_node(seam)


def user() -> uuid.UUID:
    return uuid.uuid4()


async def test_a_user_without_sockets_is_offline(presence: Presence) -> None:
    u = user()
    assert await presence.online([u]) == set()
    assert await presence.online([]) == set()
    assert await presence.disconnected(u, "never-connected") == 0
    assert await presence.online([u]) == set()


async def test_sockets_of_one_user_are_counted_until_the_last_leaves(presence: Presence) -> None:
    u = user()
    assert await presence.connected(u, "s1") == 1
    assert await presence.online([u]) == {u}
    assert await presence.connected(u, "s2") == 2
    assert await presence.connected(u, "s3") == 3
    assert await presence.disconnected(u, "s2") == 2
    assert await presence.online([u]) == {u}
    assert await presence.disconnected(u, "s1") == 1
    assert await presence.online([u]) == {u}
    assert await presence.disconnected(u, "s3") == 0
    assert await presence.online([u]) == set()
    # A user who comes back is counted from one again.
    assert await presence.connected(u, "s4") == 1
    assert await presence.online([u]) == {u}


async def test_a_socket_is_counted_once(presence: Presence) -> None:
    u = user()
    assert await presence.connected(u, "s1") == 1
    assert await presence.connected(u, "s1") == 1
    assert await presence.disconnected(u, "s1") == 0
    assert await presence.online([u]) == set()
    # A second goodbye changes nothing.
    assert await presence.disconnected(u, "s1") == 0


async def test_an_unknown_socket_leaving_changes_nothing(presence: Presence) -> None:
    u = user()
    assert await presence.connected(u, "s1") == 1
    assert await presence.disconnected(u, "s2") == 1
    assert await presence.online([u]) == {u}


async def test_users_are_counted_apart(presence: Presence) -> None:
    u1, u2, u3 = user(), user(), user()
    assert await presence.connected(u1, "s1") == 1
    # The same socket id under another user is that user's socket.
    assert await presence.connected(u2, "s1") == 1
    assert await presence.connected(u2, "s2") == 2
    assert await presence.online([u1, u2, u3]) == {u1, u2}
    assert await presence.disconnected(u1, "s1") == 0
    assert await presence.online([u1, u2, u3]) == {u2}
    assert await presence.disconnected(u2, "s1") == 1
    assert await presence.online([u1, u2, u3]) == {u2}


async def test_online_takes_any_iterable_of_users(presence: Presence) -> None:
    u1, u2 = user(), user()
    await presence.connected(u1, "s1")
    assert await presence.online(u for u in (u1, u2, u1)) == {u1}
    assert await presence.online({u2}) == set()


async def test_refresh_keeps_connected_sockets_as_they_are(presence: Presence) -> None:
    u1, u2 = user(), user()
    await presence.connected(u1, "s1")
    await presence.connected(u1, "s2")
    await presence.refresh([(u1, "s1"), (u1, "s2")])
    await presence.refresh([])
    assert await presence.online([u1, u2]) == {u1}
    assert await presence.disconnected(u1, "s1") == 1
    assert await presence.disconnected(u1, "s2") == 0
    assert await presence.online([u1, u2]) == set()


async def test_a_refreshed_socket_outlives_its_ttl(seam: Seam) -> None:
    presence = presence_node(seam, ttl_s=TTL_S)
    u = user()
    assert await presence.connected(u, "s1") == 1
    for _ in range(3):  # half a TTL apart: 1.5 TTL in all
        await asyncio.sleep(TTL_S / 2)
        await presence.refresh([(u, "s1")])
    assert await presence.online([u]) == {u}
    assert await presence.connected(u, "s2") == 2


@only(
    "redis",
    "memory: entries live as long as their process, which takes them along; they never lapse",
)
async def test_an_entry_not_refreshed_lapses_after_its_ttl(seam: Seam) -> None:
    presence = presence_node(seam, ttl_s=TTL_S)
    u = user()
    assert await presence.connected(u, "s1") == 1
    assert await presence.online([u]) == {u}
    await asyncio.sleep(TTL_S * 1.5)
    assert await presence.online([u]) == set()
    # The lapsed entry is not counted, and a goodbye for it changes nothing.
    assert await presence.connected(u, "s2") == 1
    assert await presence.disconnected(u, "s1") == 1
    assert await presence.disconnected(u, "s2") == 0
    assert await presence.online([u]) == set()


@only(
    "redis",
    "memory: one node only; each counts its own (test_memory_nodes_count_their_own_sockets)",
)
async def test_nodes_share_presence(seam: Seam) -> None:
    a, b = presence_node(seam, "a"), presence_node(seam, "b")
    u = user()
    assert await a.connected(u, "s1") == 1
    # Socket ids are a node's own: the same id on another node is another socket.
    assert await b.connected(u, "s1") == 2
    assert await b.connected(u, "s2") == 3
    assert await a.online([u]) == {u}
    assert await b.online([u]) == {u}
    assert await a.disconnected(u, "s1") == 2
    assert await a.disconnected(u, "s2") == 2  # node b's socket: not a's to remove
    assert await b.disconnected(u, "s1") == 1
    assert await a.online([u]) == {u}
    assert await b.disconnected(u, "s2") == 0
    assert await a.online([u]) == set()
    assert await b.online([u]) == set()


@only("memory", "redis: nodes share one presence (test_nodes_share_presence)")
async def test_memory_nodes_count_their_own_sockets(seam: Seam) -> None:
    a, b = presence_node(seam, "a"), presence_node(seam, "b")
    u = user()
    assert await a.connected(u, "s1") == 1
    assert await b.connected(u, "s2") == 1
    assert await a.disconnected(u, "s1") == 0
    assert await a.online([u]) == set()
    assert await b.online([u]) == {u}
    assert await b.disconnected(u, "s2") == 0


@only("redis", "memory: one node only; a node that dies takes its presence with it")
async def test_a_silent_nodes_sockets_lapse_while_others_stay(seam: Seam) -> None:
    alive, dead = (
        presence_node(seam, "alive", ttl_s=TTL_S),
        presence_node(seam, "dead", ttl_s=TTL_S),
    )
    u, v = user(), user()
    assert await alive.connected(u, "s1") == 1
    assert await dead.connected(u, "s2") == 2
    assert await dead.connected(v, "s3") == 1
    for _ in range(3):  # only the live node keeps refreshing
        await asyncio.sleep(TTL_S / 2)
        await alive.refresh([(u, "s1")])
    assert await alive.online([u, v]) == {u}
    assert await alive.connected(u, "s4") == 2
    assert await alive.disconnected(u, "s1") == 1
    assert await alive.disconnected(u, "s4") == 0
    assert await alive.online([u, v]) == set()


@only(
    "redis",
    "memory: its state is lost only with its process and sockets; refresh has nothing to restore",
)
async def test_refresh_restores_entries_redis_lost(seam: Seam) -> None:
    presence = presence_node(seam)
    u = user()
    await presence.connected(u, "s1")
    await presence.connected(u, "s2")
    keys = [k async for k in seam.client.scan_iter(match=seam.prefix + "*")]
    assert len(keys) == 1
    await seam.client.delete(*keys)  # Redis restarted empty
    assert await presence.online([u]) == set()
    await presence.refresh([(u, "s1"), (u, "s2")])
    assert await presence.online([u]) == {u}
    assert await presence.disconnected(u, "s1") == 1
    assert await presence.disconnected(u, "s2") == 0

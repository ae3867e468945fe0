"""Live unread counts against the truth: after every kind of change, the `unread_count`
each of the user's sockets hears last equals what `GET /conversations` says, with the
user's total; a burst of messages is coalesced. On the PostgreSQL run the recipient has
a socket on each of two nodes (one database, one Redis); on SQLite, one node."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import (
    Client,
    Server,
    User,
    clients,
    cluster,
    group,
    http_send,
    register,
)

BURST = 40


@pytest.fixture(scope="module")
async def nodes(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[Server]]:
    env = {"HUBBUB_SEND_BURST": str(BURST * 2), "HUBBUB_UNREAD_COALESCE_S": "0.5"}
    async with cluster(backend, tmp_path_factory.mktemp("unread"), env) as started:
        yield started


async def truth(http: httpx.AsyncClient, who: User) -> dict[str, tuple[int, int]]:
    """(unreadCount, unreadMentions) per conversation, as the list has them."""
    r = await http.get("/conversations", headers=who.headers, params={"limit": 100})
    assert r.status_code == 200, r.text
    return {
        c["id"]: (int(c["unreadCount"]), int(c["unreadMentions"]))
        for c in r.json()["conversations"]
    }


async def settled(
    http: httpx.AsyncClient,
    who: User,
    sockets: list[Client],
    cid: str,
    count: int,
    *,
    mentions: int = 0,
) -> None:
    """The server's list says `count` (and `mentions`) for `cid`, and every socket of
    `who` hears it, with the total the list adds up to."""
    counts = await truth(http, who)
    assert counts.get(cid, (0, 0)) == (count, mentions), counts
    expected = {
        "conversationId": cid,
        "unreadCount": count,
        "totalUnread": sum(n for n, _ in counts.values()),
        "unreadMentions": mentions,
    }
    for s in sockets:
        await s.wait_for("unread_count", lambda d: d == expected)


def heard(c: Client, cid: str) -> list[dict[str, Any]]:
    return [d for d in c.named("unread_count") if d["conversationId"] == cid]


async def test_counts_stay_true_through_every_kind_of_change(nodes: list[Server]) -> None:
    async with httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http:
        a, b = await register(http), await register(http)
        cid = await group(http, a, b)
        bs: list[Client] = []
        async with contextlib.AsyncExitStack() as stack:
            connectors = [await stack.enter_async_context(clients(n.base)) for n in nodes]
            for on in connectors:
                bs.append(await on(b))
            # A message from another.
            first = await http_send(http, a, cid, "one")
            await settled(http, b, bs, cid, 1)
            # One's own send changes nothing of one's count.
            await http_send(http, b, cid, "mine")
            await settled(http, b, bs, cid, 1)
            # A deletion of an unread message.
            r = await http.delete(f"/conversations/{cid}/messages/{first['id']}", headers=a.headers)
            assert r.status_code == 200, r.text
            await settled(http, b, bs, cid, 0)
            # A read.
            m2 = await http_send(http, a, cid, "two")
            await http_send(http, a, cid, "three")
            await settled(http, b, bs, cid, 2)
            r = await http.put(f"/conversations/{cid}/messages/{m2['id']}/read", headers=b.headers)
            assert r.json() == {"success": True, "unreadCount": 1}
            await settled(http, b, bs, cid, 1)
            # A mention of b, then b reads it.
            mention = await http_send(http, a, cid, "@b", mentions=[b.id])
            await settled(http, b, bs, cid, 2, mentions=1)
            r = await http.put(
                f"/conversations/{cid}/messages/{mention['id']}/read", headers=b.headers
            )
            assert r.json() == {"success": True, "unreadCount": 0}
            await settled(http, b, bs, cid, 0)
            # Being added: what came before is read; the total is heard with it.
            other = await register(http)
            g2 = await group(http, a, other)
            await http_send(http, a, g2, "before b")
            r = await http.post(
                f"/conversations/{g2}/participants", headers=a.headers, json={"userIds": [b.id]}
            )
            assert r.status_code == 200, r.text
            await settled(http, b, bs, g2, 0)
            await http_send(http, a, g2, "after b")
            await settled(http, b, bs, g2, 1)
            # Being removed: that conversation counts 0 and leaves the total.
            r = await http.delete(f"/conversations/{g2}/participants/{b.id}", headers=a.headers)
            assert r.status_code == 200, r.text
            assert g2 not in await truth(http, b)
            expected = {
                "conversationId": g2,
                "unreadCount": 0,
                "totalUnread": 0,
                "unreadMentions": 0,
            }
            for s in bs:
                await s.wait_for("unread_count", lambda d: d == expected)
            # Leaving the first conversation too: the total falls to 0.
            r = await http.delete(f"/conversations/{cid}/participants/{b.id}", headers=b.headers)
            assert r.status_code == 200, r.text
            expected = {
                "conversationId": cid,
                "unreadCount": 0,
                "totalUnread": 0,
                "unreadMentions": 0,
            }
            for s in bs:
                await s.wait_for("unread_count", lambda d: d == expected)
            assert await truth(http, b) == {}


async def test_a_burst_is_coalesced_and_the_last_count_is_true(nodes: list[Server]) -> None:
    async with httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http:
        a, b = await register(http), await register(http)
        cid = await group(http, a, b)
        async with contextlib.AsyncExitStack() as stack:
            connectors = [await stack.enter_async_context(clients(n.base)) for n in nodes]
            bs = [await on(b) for on in connectors]
            await asyncio.gather(*(http_send(http, a, cid, f"m{i}") for i in range(BURST)))
            await settled(http, b, bs, cid, BURST)
            for s in bs:
                await s.barrier()
                counts = [d["unreadCount"] for d in heard(s, cid)]
                assert 1 <= len(counts) < BURST // 2, counts
                assert counts[-1] == BURST

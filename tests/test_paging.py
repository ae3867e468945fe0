"""Paging never skips nor repeats: the conversation list's `cursor` / `nextCursor` and the
search's `before`, with many rows on the same instant (docs/http-api.md, Conversations, Messages).

Times are set in the database: conversations whose last messages fall in one
millisecond (some on the very same microsecond), messages created at the same instant.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from hubbub.app import Node
from hubbub.store.models import Conversation, Message
from tests.chat import create_group, send
from tests.conftest import Account, RegisterFn, assert_error

INSTANT = datetime(2026, 1, 5, 10, 0, 0, 123000, tzinfo=UTC)
# Seven conversations in one millisecond: three on its first microsecond, the rest apart.
OFFSETS_US = (0, 0, 0, 250, 250, 500, 999)


async def set_times(node: Node, table: Any, column: Any, times: dict[str, datetime]) -> None:
    async with node.services.db.write() as session:
        for row_id, at in times.items():
            await session.execute(
                update(table).where(table.id == uuid.UUID(row_id)).values({column.key: at})
            )


async def page_through(
    client: httpx.AsyncClient, who: Account, **params: Any
) -> tuple[list[list[str]], dict[str, Any]]:
    """Every page of the caller's conversation list, following `nextCursor` to the end."""
    pages: list[list[str]] = []
    query = dict(params)
    while True:
        response = await client.get("/conversations", headers=who.headers, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([c["id"] for c in body["conversations"]])
        if body["nextCursor"] is None:
            return pages, body
        assert len(pages) <= 20, "paging does not end"
        query = {**params, "cursor": body["nextCursor"]}


async def test_conversation_pages_keep_every_conversation_of_one_millisecond(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me, other = await register("pager"), await register("paged")
    cids = [await create_group(client, me, other, name=f"g{i}") for i in range(len(OFFSETS_US))]
    times = {
        cid: INSTANT + timedelta(microseconds=us) for cid, us in zip(cids, OFFSETS_US, strict=True)
    }
    await set_times(node, Conversation, Conversation.last_message_at, times)
    # Newest activity first; on the same instant, the larger id first.
    expected = sorted(cids, key=lambda c: (times[c], uuid.UUID(c)), reverse=True)

    pages, last = await page_through(client, me, limit=2)
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [cid for page in pages for cid in page] == expected
    assert last["total"] == len(cids)

    # Every lastMessageAt shows the same millisecond: a `before` cursor cannot tell them
    # apart (it stays as the API describes it, strictly older than the time given).
    shown = {
        c["lastMessageAt"]
        for c in (await client.get("/conversations", headers=me.headers)).json()["conversations"]
    }
    assert shown == {"2026-01-05T10:00:00.123Z"}
    older = await client.get(
        "/conversations", headers=me.headers, params={"before": "2026-01-05T10:00:00.123Z"}
    )
    assert older.json()["conversations"] == []


async def test_a_page_that_ends_the_list_has_no_next_cursor(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me, other = await register("lister"), await register("listed")
    cids = [await create_group(client, me, other, name=f"g{i}") for i in range(2)]
    pages, _ = await page_through(client, me, limit=2)
    assert pages == [list(reversed(cids))]  # exactly full, and nothing after
    pages, _ = await page_through(client, me, limit=1)
    assert pages == [[cids[1]], [cids[0]]]
    # A cursor, or a lastMessageAt: not both.
    first = (await client.get("/conversations", headers=me.headers, params={"limit": 1})).json()
    both = {"cursor": first["nextCursor"], "before": "2026-01-05T10:00:00.123Z"}
    assert_error(await client.get("/conversations", headers=me.headers, params=both), 400)


async def test_search_pages_keep_every_message_of_one_instant(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me, other = await register("seeker"), await register("sought")
    cid = await create_group(client, me, other)
    ids = [(await send(client, me, cid, f"needle number {i}"))["id"] for i in range(7)]
    times = {
        mid: INSTANT + timedelta(microseconds=us) for mid, us in zip(ids, OFFSETS_US, strict=True)
    }
    await set_times(node, Message, Message.created_at, times)
    expected = sorted(ids, key=lambda m: (times[m], uuid.UUID(m)), reverse=True)

    seen: list[str] = []
    params: dict[str, Any] = {"q": "needle", "limit": 2}
    while True:
        response = await client.get("/search/messages", headers=me.headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [m["id"] for m in body["messages"]]
        if not body["hasMore"]:
            break
        assert len(seen) <= 20, "paging does not end"
        params["before"] = body["messages"][-1]["id"]
    assert seen == expected


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", "", "x" * 300, "MjAyNi0wMS0wNVQxMDowMDowMHxub3QtYS11dWlk", "bm8gc2VwYXJhdG9y"],
)
async def test_a_bad_conversation_cursor_is_400(
    client: httpx.AsyncClient, register: RegisterFn, cursor: str
) -> None:
    me = await register("badcursor")
    response = await client.get("/conversations", headers=me.headers, params={"cursor": cursor})
    assert_error(response, 400, "invalid_cursor")

"""SQLite's full-text index, filled after the send (`hubbub.store.dialect`, full-text search).

A new message is only noted in `messages_fts_pending`; the background indexer or the
next search moves it into the FTS5 index. These tests hold the indexer still so that
edits and deletes happen while messages are still noted, then check that search finds
exactly the current words and that FTS5's own integrity check, against the messages
table, passes.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, text

from hubbub.app import Node
from hubbub.store.models import Message
from tests.chat import create_group, send
from tests.conftest import RegisterFn

pytestmark = pytest.mark.sqlite_only


async def _pending(node: Node) -> int:
    async with node.services.db.read() as session:
        return int(await session.scalar(text("SELECT count(*) FROM messages_fts_pending")) or 0)


async def _check_index(node: Node) -> None:
    """FTS5's integrity check, with the rank argument: the index must match the content
    of `messages` row for row (raises 'database disk image is malformed' otherwise)."""
    async with node.services.db.write() as session:
        await session.execute(
            text("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        )


async def test_edits_and_deletes_before_and_after_indexing_keep_the_index_exact(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    db = node.services.db
    indexer = db._indexer
    assert indexer is not None
    indexer.cancel()  # held still: what is sent stays noted until a search
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    url = f"/conversations/{cid}/messages"
    one = await send(client, ann, cid, "alpha one")
    two = await send(client, ann, cid, "beta two")
    three = await send(client, ann, cid, "gamma three")
    four = await send(client, ann, cid, "delta four")
    assert await _pending(node) == 4

    # While noted: an edit, a soft delete and a hard delete (a conversation's cascade).
    edited = await client.patch(
        f"{url}/{two['id']}", headers=ann.headers, json={"content": "beta edited"}
    )
    assert edited.status_code == 200, edited.text
    deleted = await client.delete(f"{url}/{three['id']}", headers=ann.headers)
    assert deleted.status_code == 200, deleted.text
    async with db.write() as session:
        await session.execute(delete(Message).where(Message.id == uuid.UUID(four["id"])))
    assert await _pending(node) == 3

    async def search(q: str) -> list[str]:
        r = await client.get("/search/messages", headers=ben.headers, params={"q": q})
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["messages"]]

    # The search indexes what is noted first, then finds only current words.
    assert await search("beta") == [two["id"]]
    assert await _pending(node) == 0
    assert await search("edited") == [two["id"]]
    assert await search("two") == []
    assert await search("gamma") == []
    assert await search("delta") == []
    await _check_index(node)

    # Once indexed: the same changes go through the index itself.
    edited = await client.patch(
        f"{url}/{one['id']}", headers=ann.headers, json={"content": "omega"}
    )
    assert edited.status_code == 200, edited.text
    assert await search("alpha") == []
    assert await search("omega") == [one["id"]]
    async with db.write() as session:
        await session.execute(delete(Message).where(Message.id == uuid.UUID(two["id"])))
    assert await search("beta") == []
    await _check_index(node)


async def test_the_background_indexer_catches_up_without_a_search(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    for i in range(5):
        await send(client, ann, cid, f"word{i}")
    for _ in range(100):
        if await _pending(node) == 0:
            break
        await asyncio.sleep(0.05)
    assert await _pending(node) == 0
    await _check_index(node)
    found: Any = (
        await client.get("/search/messages", headers=ben.headers, params={"q": "word3"})
    ).json()
    assert [m["content"] for m in found["messages"]] == ["word3"]

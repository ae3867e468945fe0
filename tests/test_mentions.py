"""GET /mentions and unreadMentions over HTTP: the feed is newest first, paged by an
opaque cursor, holds only live messages from conversations the caller is in now, and
the list's unread mentions follow the read marker."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.chat import create_group, send
from tests.conftest import RegisterFn, assert_error


async def feed(client: httpx.AsyncClient, who: Any, **params: Any) -> list[dict[str, Any]]:
    """Every item of the feed, page by page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        r = await client.get("/mentions", headers=who.headers, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"mentions", "nextCursor"}
        items += page["mentions"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items


async def unread_mentions(client: httpx.AsyncClient, who: Any, cid: str) -> int:
    convs = (await client.get("/conversations", headers=who.headers)).json()["conversations"]
    return int(next(c for c in convs if c["id"] == cid)["unreadMentions"])


async def test_the_feed_pages_newest_first_with_the_conversation(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    team = await create_group(client, ann, ben, name="team")
    other = await create_group(client, ann, ben, name="other")
    sent = []
    for i in range(5):
        cid = team if i % 2 == 0 else other
        sent.append((cid, await send(client, ann, cid, f"@ben {i}", mentions=[str(ben.id)])))
    await send(client, ann, team, "no mention")
    await send(client, ben, team, "@ann", mentions=[str(ann.id)])
    items = await feed(client, ben, limit=2)
    assert [i["message"]["id"] for i in items] == [m["id"] for _, m in reversed(sent)]
    assert [i["conversationId"] for i in items] == [c for c, _ in reversed(sent)]
    names = {team: "team", other: "other"}
    assert all(i["conversationName"] == names[i["conversationId"]] for i in items)
    assert items[0]["message"]["content"] == "@ben 4"
    assert items[0]["message"]["mentions"] == [str(ben.id)]
    # Ann was mentioned once; a user mentioned nowhere has an empty feed.
    assert [i["message"]["content"] for i in await feed(client, ann)] == ["@ann"]
    cat = await register("cat")
    assert await feed(client, cat) == []


async def test_unread_mentions_follow_the_read_marker(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    first = await send(client, ann, cid, "@ben one", mentions=[str(ben.id)])
    await send(client, ann, cid, "plain")
    second = await send(client, ann, cid, "@ben two", mentions=[str(ben.id)])
    assert await unread_mentions(client, ben, cid) == 2
    assert await unread_mentions(client, ann, cid) == 0
    r = await client.put(f"/conversations/{cid}/messages/{first['id']}/read", headers=ben.headers)
    assert r.status_code == 200, r.text
    assert await unread_mentions(client, ben, cid) == 1
    # A deleted mention is neither unread nor in the feed.
    r = await client.delete(f"/conversations/{cid}/messages/{second['id']}", headers=ann.headers)
    assert r.status_code == 200, r.text
    assert await unread_mentions(client, ben, cid) == 0
    assert [i["message"]["id"] for i in await feed(client, ben)] == [first["id"]]


async def test_an_at_all_mentions_everyone_but_its_sender(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    cid = await create_group(client, ann, ben, cat)
    everyone = await send(client, ann, cid, "@all standup", metadata={"mentionAll": True})
    await send(client, ann, cid, "not everyone", metadata={"mentionAll": False})
    for who in (ben, cat):
        assert await unread_mentions(client, who, cid) == 1
        assert [i["message"]["id"] for i in await feed(client, who)] == [everyone["id"]]
    assert await unread_mentions(client, ann, cid) == 0
    assert await feed(client, ann) == []
    read = f"/conversations/{cid}/messages/{everyone['id']}/read"
    r = await client.put(read, headers=ben.headers)
    assert r.status_code == 200, r.text
    assert await unread_mentions(client, ben, cid) == 0
    assert await unread_mentions(client, cat, cid) == 1


async def test_a_removed_user_no_longer_sees_the_conversations_mentions(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    kept = await create_group(client, ann, ben, name="kept")
    gone = await create_group(client, ann, ben, name="gone")
    await send(client, ann, kept, "@ben kept", mentions=[str(ben.id)])
    await send(client, ann, gone, "@ben gone", mentions=[str(ben.id)])
    assert len(await feed(client, ben)) == 2
    r = await client.delete(f"/conversations/{gone}/participants/{ben.id}", headers=ann.headers)
    assert r.status_code == 200, r.text
    assert [i["message"]["content"] for i in await feed(client, ben)] == ["@ben kept"]


async def test_bad_cursors_and_limits_are_refused(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ben = await register("ben")
    forged = base64.urlsafe_b64encode(b"not a time|not an id").decode()
    for cursor in ("", "!!!", "x" * 500, forged):
        r = await client.get("/mentions", headers=ben.headers, params={"cursor": cursor})
        assert_error(r, 400, "invalid_cursor")
    for limit in (0, 101, "many"):
        r = await client.get("/mentions", headers=ben.headers, params={"limit": limit})
        assert r.status_code == 422, r.text
    r = await client.get("/mentions")
    assert r.status_code == 401

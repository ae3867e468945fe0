"""A history page, a page of changes, and the conversation list's last messages show
each message exactly as the message alone does.

History pages, pages of changes and a list page's last messages are read as rows on
the driver (`hubbub.store.page_reads`, `hubbub.queries.history`,
`hubbub.queries.changes`, `hubbub.store.view_reads`); one
message (GET …/messages/:id) through the loaders of `hubbub.queries.views`. Both must
give the same JSON, byte for byte, for every kind of message a page holds: with
reactions (several emoji, several users), attachments (an image with its thumbnail, a
plain file), metadata and mentions, a thread root with its reply count and the
replies, an edited one, a deleted one (it keeps its place, loses its content), and the
viewer's own messages as SENT, DELIVERED and READ.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import orjson
from PIL import Image

from tests.chat import create_group, create_private, send
from tests.conftest import Account, Node, RegisterFn
from tests.test_files import upload_ok


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


async def _one_by_one(
    client: httpx.AsyncClient, who: Account, cid: str, ids: list[str]
) -> list[dict[str, Any]]:
    alone = []
    for message_id in ids:
        r = await client.get(f"/conversations/{cid}/messages/{message_id}", headers=who.headers)
        assert r.status_code == 200, r.text
        alone.append(r.json()["message"])
    return alone


async def _changes_after(
    client: httpx.AsyncClient, who: Account, cid: str, *, limit: int
) -> list[dict[str, Any]]:
    """Every change from the first, page after page of `limit`."""
    found: list[dict[str, Any]] = []
    since = 0
    while True:
        r = await client.get(
            f"/conversations/{cid}/changes",
            headers=who.headers,
            params={"since": str(since), "limit": str(limit)},
        )
        assert r.status_code == 200, r.text
        page = r.json()
        found += page["changes"]
        since = page["lastSeq"]
        if not page["hasMore"]:
            return found


async def test_history_pages_show_each_message_as_it_is_alone(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    cid = await create_group(client, ann, ben, cat)
    image = await upload_ok(client, ann, _png(), filename="red dot.png")
    plain = await upload_ok(client, ann, b"just bytes", filename="notes.bin")
    first = await send(client, ann, cid, "first", metadata={"k": [1, 2.5, None, "é"]})
    with_files = await send(client, ann, cid, "files", attachments=[image["id"], plain["id"]])
    mention = await send(client, ben, cid, "hey @ann", mentions=[str(ann.id)])
    root = await send(client, cat, cid, "root")
    await send(client, ben, cid, "reply", parentMessageId=root["id"])
    edited = await send(client, ann, cid, "draft")
    r = await client.patch(
        f"/conversations/{cid}/messages/{edited['id']}", headers=ann.headers, json={"content": "ok"}
    )
    assert r.status_code == 200, r.text
    gone = await send(client, ben, cid, "oops")
    for who, message, emoji in (
        (ben, first, "🎉"),
        (cat, first, "👍"),
        (cat, first, "🎉"),
        (ann, gone, "👍"),
        (ann, mention, "👀"),
    ):
        r = await client.post(
            f"/conversations/{cid}/messages/{message['id']}/reactions",
            headers=who.headers,
            json={"emoji": emoji},
        )
        assert r.status_code in (200, 201), r.text
    r = await client.delete(f"/conversations/{cid}/messages/{gone['id']}", headers=ben.headers)
    assert r.status_code == 200, r.text
    last = await send(client, ann, cid, "last")
    # ann's messages: up to `first` read by both others (READ), the rest SENT.
    for who in (ben, cat):
        r = await client.put(
            f"/conversations/{cid}/messages/{first['id']}/read", headers=who.headers
        )
        assert r.status_code == 200, r.text

    for viewer in (ann, ben):
        r = await client.get(f"/conversations/{cid}/messages", headers=viewer.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        ids = [m["id"] for m in page["messages"]]
        assert ids[-1] == last["id"]
        assert page["messages"] == await _one_by_one(client, viewer, cid, ids)
        statuses = {m["id"]: m["status"] for m in page["messages"]}
        if viewer is ann:
            assert (statuses[first["id"]], statuses[last["id"]]) == ("READ", "SENT")
        assert statuses[gone["id"]] == "DELETED"
        files = page["messages"][ids.index(with_files["id"])]["attachments"]
        assert [f["filename"] for f in files] == ["red dot.png", "notes.bin"]
        assert files[0]["thumbnailUrl"] is not None
        assert files[1]["thumbnailUrl"] is None
        reactions = page["messages"][ids.index(first["id"])]["reactions"]
        assert [(x["emoji"], x["count"]) for x in reactions] == [("🎉", 2), ("👍", 1)]

        # The same messages on pages cut by each cursor, and byte for byte.
        for params in (
            {"limit": "3", "before": last["id"]},
            {"limit": "3", "after": first["id"]},
            {"limit": "4", "aroundId": root["id"]},
        ):
            r = await client.get(
                f"/conversations/{cid}/messages", headers=viewer.headers, params=params
            )
            assert r.status_code == 200, r.text
            cut = r.json()["messages"]
            assert cut == [page["messages"][ids.index(m["id"])] for m in cut]
            assert len(cut) == int(params["limit"])
        # Pages of changes (resume) show the same messages, in change order, whole or
        # cut into pages of three.
        changes = await _changes_after(client, viewer, cid, limit=100)
        assert sorted(m["id"] for m in changes) == sorted(ids)
        assert changes == await _one_by_one(client, viewer, cid, [m["id"] for m in changes])
        assert [m["changeSeq"] for m in changes] == sorted(m["changeSeq"] for m in changes)
        assert await _changes_after(client, viewer, cid, limit=3) == changes
        # A resume's pages (`sync`: every conversation's in one statement) show them too.
        resumed, removed = await node.services.message_queries.sync(
            viewer.id, {uuid.UUID(cid): 0}, limit=100
        )
        assert removed == []
        assert orjson.loads(resumed[uuid.UUID(cid)].json())["changes"] == changes
        alone = await client.get(
            f"/conversations/{cid}/messages/{root['id']}", headers=viewer.headers
        )
        whole = await client.get(
            f"/conversations/{cid}/messages",
            headers=viewer.headers,
            params={"limit": "1", "aroundId": root["id"]},
        )
        assert whole.content == (
            b'{"messages":[' + alone.content[len(b'{"message":') : -1] + b'],"hasMore":true,'
            b'"totalCount":' + str(page["totalCount"]).encode() + b"}"
        )


async def _react(client: httpx.AsyncClient, who: Account, cid: str, mid: str, emoji: str) -> None:
    r = await client.post(
        f"/conversations/{cid}/messages/{mid}/reactions", headers=who.headers, json={"emoji": emoji}
    )
    assert r.status_code in (200, 201), r.text


async def test_listed_last_messages_show_each_as_it_is_alone(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    # One conversation per kind of last message.
    reacted = await create_group(client, ann, ben, cat, name="reacted")
    last_reacted = await send(
        client, ann, reacted, "hey @ben", mentions=[str(ben.id)], metadata={"k": [1, None]}
    )
    for who, emoji in ((ben, "🎉"), (cat, "👍"), (cat, "🎉")):
        await _react(client, who, reacted, last_reacted["id"], emoji)
    with_files = await create_group(client, ann, ben, cat, name="files")
    image = await upload_ok(client, ann, _png(), filename="red dot.png")
    plain = await upload_ok(client, ann, b"just bytes", filename="notes.bin")
    files_last = await send(
        client, ann, with_files, "files", attachments=[image["id"], plain["id"]]
    )
    for who in (ben, cat):  # read by both others: READ for ann
        r = await client.put(
            f"/conversations/{with_files}/messages/{files_last['id']}/read", headers=who.headers
        )
        assert r.status_code == 200, r.text
    delivered = await create_private(client, ann, ben)
    delivered_last = await send(client, ann, delivered, "on its way")
    await node.services.markers.mark_delivered(
        ben.id, uuid.UUID(delivered), uuid.UUID(delivered_last["id"])
    )
    deleted = await create_group(client, ben, ann, name="deleted")
    gone = await send(client, ben, deleted, "oops")
    await _react(client, ann, deleted, gone["id"], "👀")
    r = await client.delete(f"/conversations/{deleted}/messages/{gone['id']}", headers=ben.headers)
    assert r.status_code == 200, r.text
    edited = await create_group(client, ben, ann, cat, name="edited")
    draft = await send(client, ben, edited, "draft")
    r = await client.patch(
        f"/conversations/{edited}/messages/{draft['id']}",
        headers=ben.headers,
        json={"content": "ok"},
    )
    assert r.status_code == 200, r.text
    empty = await create_group(client, ann, ben, name="empty")

    for viewer in (ann, ben):
        r = await client.get("/conversations", headers=viewer.headers, params={"limit": "100"})
        assert r.status_code == 200, r.text
        listed = {c["id"]: c["lastMessage"] for c in r.json()["conversations"]}
        assert set(listed) == {reacted, with_files, delivered, deleted, edited, empty}
        assert listed.pop(empty) is None
        for cid, last in listed.items():
            (alone,) = await _one_by_one(client, viewer, cid, [last["id"]])
            assert last == alone
        if viewer is ann:
            statuses = {cid: last["status"] for cid, last in listed.items()}
            assert statuses == {
                reacted: "SENT",
                with_files: "READ",
                delivered: "DELIVERED",
                deleted: "DELETED",
                edited: "SENT",
            }
            assert [(x["emoji"], x["count"]) for x in listed[reacted]["reactions"]] == [
                ("🎉", 2),
                ("👍", 1),
            ]
            files = listed[with_files]["attachments"]
            assert [f["filename"] for f in files] == ["red dot.png", "notes.bin"]
            assert listed[deleted]["reactions"] == []
            assert listed[edited]["content"] == "ok"

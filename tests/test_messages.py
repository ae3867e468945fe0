"""Messages over HTTP: send, idempotency, numbering, history, edits, deletes, threads,
reactions, read markers, resume and search (docs/http-api.md, Messages; docs/data-model.md)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from hubbub.app import Node
from hubbub.store.page_reads import FEW_CONVERSATIONS
from tests.chat import Recorder, create_group, create_private, send
from tests.conftest import RegisterFn, assert_error, count_rows


@pytest.fixture
def recorder(node: Node) -> Recorder:
    rec = Recorder()
    node.services.bus.subscribe(rec)
    return rec


MESSAGE_FIELDS = {
    "id", "conversationId", "senderId", "sender", "type", "content", "status", "seq", "changeSeq",
    "parentMessageId", "threadId", "replyCount", "attachments", "metadata", "mentions",
    "reactions", "clientTimestamp", "serverTimestamp", "createdAt", "updatedAt", "editedAt",
    "deletedAt", "optimisticId",
}  # fmt: skip


async def test_send_stores_numbers_and_announces_after_commit(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    recorder.clear()
    r = await client.post(
        f"/conversations/{cid}/messages",
        headers=ann.headers,
        json={
            "content": "  hello there  ",
            "optimisticId": "opt-1",
            "mentions": [str(ben.id)],
            "metadata": {"mentionAll": False},
            "clientTimestamp": "2026-01-05T10:00:00.123Z",
        },
    )
    assert r.status_code == 201
    m = r.json()["message"]
    assert set(m) == MESSAGE_FIELDS
    assert (m["content"], m["type"], m["status"], m["seq"], m["changeSeq"]) == (
        "hello there",
        "TEXT",
        "SENT",
        1,
        1,
    )
    assert m["sender"] == {
        "id": str(ann.id),
        "username": "ann",
        "displayName": None,
        "avatar": None,
        "isBot": False,
    }
    assert m["mentions"] == [str(ben.id)]
    assert m["clientTimestamp"] == "2026-01-05T10:00:00.123Z"
    assert m["optimisticId"] == "opt-1"
    assert [
        (e.name, e.audience.conversation_id, e.audience.exclude_socket) for e in recorder.events
    ] == [("new_message", uuid.UUID(cid), None)]
    assert recorder.events[0].payload == {"message": m, "conversationId": cid}
    second = await send(client, ben, cid, "yo")
    assert (second["seq"], second["changeSeq"]) == (2, 2)
    conv = (await client.get(f"/conversations/{cid}", headers=ann.headers)).json()["conversation"]
    assert conv["lastSeq"] == 2
    assert conv["lastMessage"]["id"] == second["id"]


async def test_repeated_optimistic_id_returns_the_original_once(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    first = await client.post(
        f"/conversations/{cid}/messages",
        headers=ann.headers,
        json={"content": "once", "optimisticId": "k"},
    )
    recorder.clear()
    again = await client.post(
        f"/conversations/{cid}/messages",
        headers=ann.headers,
        json={"content": "different text, same key", "optimisticId": "k"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["message"] == first.json()["message"]
    assert recorder.events == []
    assert await count_rows(node, "messages") == 1
    # The key is the sender's: another sender may use the same string.
    other = await client.post(
        f"/conversations/{cid}/messages",
        headers=ben.headers,
        json={"content": "x", "optimisticId": "k"},
    )
    assert other.status_code == 201
    # Reusing a key in another conversation is a conflict, not a silent second message.
    cid2 = await create_private(client, ann, ben)
    clash = await client.post(
        f"/conversations/{cid2}/messages",
        headers=ann.headers,
        json={"content": "x", "optimisticId": "k"},
    )
    assert_error(clash, 409, "duplicate_optimistic_id")
    assert await count_rows(node, "messages") == 2


async def test_parallel_identical_sends_store_one_message(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    recorder.clear()
    body = {"content": "race", "optimisticId": "same-key"}
    results = await asyncio.gather(
        *(
            client.post(f"/conversations/{cid}/messages", headers=ann.headers, json=body)
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json()["message"]["id"] for r in results}) == 1
    assert await count_rows(node, "messages") == 1
    assert len(recorder.named("new_message")) == 1


async def test_parallel_sends_get_distinct_gap_free_numbers(
    client: httpx.AsyncClient, register: RegisterFn, settings_overrides: dict[str, Any]
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    results = await asyncio.gather(
        *(
            client.post(
                f"/conversations/{cid}/messages",
                headers=(ann if i % 2 else ben).headers,
                json={"content": f"m{i}"},
            )
            for i in range(20)
        )
    )
    assert all(r.status_code == 201 for r in results), [
        r.text for r in results if r.status_code != 201
    ]
    seqs = sorted(r.json()["message"]["seq"] for r in results)
    assert seqs == list(range(1, 21))
    page = (
        await client.get(f"/conversations/{cid}/messages?limit=100", headers=ann.headers)
    ).json()
    assert [m["seq"] for m in page["messages"]] == list(range(1, 21))
    assert page["totalCount"] == 20


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"send_rate_per_s": 1000.0, "send_burst": 1000}


async def test_parallel_private_creation_yields_one_conversation(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    calls = [
        client.post(
            "/conversations",
            headers=(a.headers),
            json={"type": "PRIVATE", "participantIds": [str(b.id)]},
        )
        for a, b in [(ann, ben), (ben, ann)] * 4
    ]
    results = await asyncio.gather(*calls)
    assert all(r.status_code in (200, 201) for r in results)
    assert sorted(r.status_code for r in results).count(201) == 1
    assert len({r.json()["conversation"]["id"] for r in results}) == 1
    assert await count_rows(node, "conversations") == 1
    assert await count_rows(node, "conversation_participants") == 2


async def test_history_pages_oldest_first_with_cursors(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    sent = [await send(client, ann, cid, f"m{i}") for i in range(1, 11)]
    url = f"/conversations/{cid}/messages"

    async def page(**params: Any) -> dict[str, Any]:
        r = await client.get(url, headers=ben.headers, params=params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    newest = await page(limit=4)
    assert [m["content"] for m in newest["messages"]] == ["m7", "m8", "m9", "m10"]
    assert (newest["hasMore"], newest["totalCount"]) == (True, 10)
    older = await page(limit=4, before=newest["messages"][0]["id"])
    assert [m["content"] for m in older["messages"]] == ["m3", "m4", "m5", "m6"]
    oldest = await page(limit=4, before=older["messages"][0]["id"])
    assert [m["content"] for m in oldest["messages"]] == ["m1", "m2"]
    assert oldest["hasMore"] is False
    forward = await page(limit=3, after=sent[2]["id"])
    assert [m["content"] for m in forward["messages"]] == ["m4", "m5", "m6"]
    assert forward["hasMore"] is True
    tail = await page(limit=5, after=sent[6]["id"])
    assert [m["content"] for m in tail["messages"]] == ["m8", "m9", "m10"]
    assert tail["hasMore"] is False
    around = await page(limit=5, aroundId=sent[4]["id"])
    assert [m["content"] for m in around["messages"]] == ["m3", "m4", "m5", "m6", "m7"]
    assert around["hasMore"] is True


async def test_cursor_from_another_conversation_is_400(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    a = await create_group(client, ann, ben, name="a")
    b = await create_group(client, ann, ben, name="b")
    foreign = await send(client, ann, b, "elsewhere")
    for param in ("before", "after", "aroundId"):
        r = await client.get(
            f"/conversations/{a}/messages", headers=ann.headers, params={param: foreign["id"]}
        )
        assert_error(r, 400, "invalid_cursor")


async def test_edit_and_delete(
    client: httpx.AsyncClient, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    m = await send(client, ann, cid, "draft")
    await client.post(
        f"/conversations/{cid}/messages/{m['id']}/reactions",
        headers=ben.headers,
        json={"emoji": "🎉"},
    )
    recorder.clear()
    edited = (
        await client.patch(
            f"/conversations/{cid}/messages/{m['id']}",
            headers=ann.headers,
            json={"content": "final"},
        )
    ).json()["message"]
    assert (edited["content"], edited["seq"], edited["changeSeq"]) == ("final", 1, 3)
    assert edited["editedAt"] is not None
    assert [e.name for e in recorder.events] == ["message_updated"]
    assert recorder.events[0].payload["message"] == edited
    # An edit that changes nothing takes no number and announces nothing.
    recorder.clear()
    same = await client.patch(
        f"/conversations/{cid}/messages/{m['id']}", headers=ann.headers, json={"content": "final"}
    )
    assert same.json()["message"]["changeSeq"] == 3
    assert recorder.events == []
    assert_error(
        await client.patch(
            f"/conversations/{cid}/messages/{m['id']}", headers=ben.headers, json={"content": "x"}
        ),
        403,
    )
    deleted = (
        await client.delete(f"/conversations/{cid}/messages/{m['id']}", headers=ann.headers)
    ).json()["message"]
    assert deleted["status"] == "DELETED"
    assert (deleted["id"], deleted["seq"], deleted["senderId"]) == (m["id"], 1, str(ann.id))
    assert (deleted["content"], deleted["attachments"], deleted["reactions"]) == ("", [], [])
    assert deleted["deletedAt"] is not None
    assert deleted["changeSeq"] == 4
    assert [e.name for e in recorder.events] == ["message_deleted"]
    page = (await client.get(f"/conversations/{cid}/messages", headers=ben.headers)).json()
    assert page["totalCount"] == 0
    assert [x["status"] for x in page["messages"]] == ["DELETED"]
    # Deleted messages cannot be edited or reacted to.
    assert_error(
        await client.patch(
            f"/conversations/{cid}/messages/{m['id']}",
            headers=ann.headers,
            json={"content": "back"},
        ),
        404,
    )
    assert_error(
        await client.post(
            f"/conversations/{cid}/messages/{m['id']}/reactions",
            headers=ben.headers,
            json={"emoji": "x"},
        ),
        404,
    )


async def test_threads_and_reply_counts(client: httpx.AsyncClient, register: RegisterFn) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    root = await send(client, ann, cid, "root")
    r1 = await send(client, ben, cid, "reply 1", parentMessageId=root["id"])
    r2 = await send(client, ann, cid, "reply to reply", parentMessageId=r1["id"])
    assert (r1["threadId"], r1["parentMessageId"]) == (root["id"], root["id"])
    assert (r2["threadId"], r2["parentMessageId"]) == (root["id"], r1["id"])
    got = (
        await client.get(f"/conversations/{cid}/messages/{root['id']}", headers=ben.headers)
    ).json()["message"]
    assert got["replyCount"] == 2
    thread = (
        await client.get(
            f"/conversations/{cid}/messages/{root['id']}/thread?limit=1", headers=ben.headers
        )
    ).json()
    assert [m["content"] for m in thread["messages"]] == ["reply 1"]
    assert thread["hasMore"] is True
    rest = (
        await client.get(
            f"/conversations/{cid}/messages/{root['id']}/thread",
            headers=ben.headers,
            params={"after": r1["id"]},
        )
    ).json()
    assert [m["content"] for m in rest["messages"]] == ["reply to reply"]
    assert rest["hasMore"] is False
    await client.delete(f"/conversations/{cid}/messages/{r2['id']}", headers=ann.headers)
    got = (
        await client.get(f"/conversations/{cid}/messages/{root['id']}", headers=ben.headers)
    ).json()["message"]
    assert got["replyCount"] == 1


async def test_reactions_are_idempotent(
    client: httpx.AsyncClient, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    m = await send(client, ann, cid)
    url = f"/conversations/{cid}/messages/{m['id']}/reactions"
    recorder.clear()
    first = (await client.post(url, headers=ben.headers, json={"emoji": "👍"})).json()
    again = (await client.post(url, headers=ben.headers, json={"emoji": "👍"})).json()
    assert first == again == {"reactions": [{"emoji": "👍", "count": 1, "userIds": [str(ben.id)]}]}
    assert len(recorder.named("message_updated")) == 1
    both = (await client.post(url, headers=ann.headers, json={"emoji": "👍"})).json()
    assert both["reactions"] == [{"emoji": "👍", "count": 2, "userIds": [str(ben.id), str(ann.id)]}]
    removed = (await client.delete(url + "/%F0%9F%91%8D", headers=ben.headers)).json()
    assert removed["reactions"] == [{"emoji": "👍", "count": 1, "userIds": [str(ann.id)]}]
    removed_again = (await client.delete(url + "/%F0%9F%91%8D", headers=ben.headers)).json()
    assert removed_again == removed
    assert len(recorder.named("message_updated")) == 3


async def test_read_markers_unread_counts_and_status(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    cid = await create_group(client, ann, ben, cat)
    msgs = [await send(client, ann, cid, f"m{i}") for i in range(3)]
    await send(client, ben, cid, "ben's own")

    async def unread(who: Any) -> int:
        convs = (await client.get("/conversations", headers=who.headers)).json()["conversations"]
        return int(next(c for c in convs if c["id"] == cid)["unreadCount"])

    assert (await unread(ann), await unread(ben), await unread(cat)) == (1, 3, 4)
    recorder.clear()
    r = await client.put(f"/conversations/{cid}/messages/{msgs[1]['id']}/read", headers=ben.headers)
    assert r.json() == {"success": True, "unreadCount": 1}
    # The reader's count reaches its sockets from each node's unread coalescer, not the bus.
    assert [e.name for e in recorder.events] == ["messages_read"]
    (read_event,) = recorder.events
    assert read_event.payload["seq"] == 2
    assert read_event.payload["messageId"] == msgs[1]["id"]
    assert read_event.audience.conversation_id == uuid.UUID(cid)
    # Markers never move back, and a no-op announces nothing.
    recorder.clear()
    back = await client.put(
        f"/conversations/{cid}/messages/{msgs[0]['id']}/read", headers=ben.headers
    )
    assert back.json()["unreadCount"] == 1
    assert recorder.events == []
    # Status for the sender: READ needs every other participant; cat has read nothing.
    page = (await client.get(f"/conversations/{cid}/messages", headers=ann.headers)).json()[
        "messages"
    ]
    assert [m["status"] for m in page[:3]] == ["SENT", "SENT", "SENT"]
    await client.put(f"/conversations/{cid}/messages/{msgs[2]['id']}/read", headers=cat.headers)
    page = (await client.get(f"/conversations/{cid}/messages", headers=ann.headers)).json()[
        "messages"
    ]
    assert [m["status"] for m in page[:3]] == ["READ", "READ", "SENT"]
    await node.services.markers.mark_delivered(ben.id, uuid.UUID(cid), uuid.UUID(msgs[2]["id"]))
    page = (await client.get(f"/conversations/{cid}/messages", headers=ann.headers)).json()[
        "messages"
    ]
    assert [m["status"] for m in page[:3]] == ["READ", "READ", "DELIVERED"]
    # Others see their own view; status is the sender's business.
    assert {
        m["status"]
        for m in (await client.get(f"/conversations/{cid}/messages", headers=cat.headers)).json()[
            "messages"
        ]
    } == {"SENT"}


async def test_changes_returns_exactly_what_changed_after_a_number(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    a = await send(client, ann, cid, "a")  # 1
    b = await send(client, ann, cid, "b")  # 2
    c = await send(client, ben, cid, "c")  # 3
    seen = 3
    await client.patch(
        f"/conversations/{cid}/messages/{a['id']}", headers=ann.headers, json={"content": "a2"}
    )  # 4
    await client.post(
        f"/conversations/{cid}/messages/{c['id']}/reactions",
        headers=ann.headers,
        json={"emoji": "x"},
    )  # 5
    await client.delete(f"/conversations/{cid}/messages/{b['id']}", headers=ann.headers)  # 6
    d = await send(client, ben, cid, "d")  # 7
    url = f"/conversations/{cid}/changes"
    full = (await client.get(url, headers=ben.headers, params={"since": seen})).json()
    assert [(m["id"], m["changeSeq"]) for m in full["changes"]] == [
        (a["id"], 4),
        (c["id"], 5),
        (b["id"], 6),
        (d["id"], 7),
    ]
    assert full["changes"][0]["content"] == "a2"
    assert full["changes"][1]["reactions"][0]["emoji"] == "x"
    assert full["changes"][2]["status"] == "DELETED"
    assert (full["lastSeq"], full["hasMore"]) == (7, False)
    first = (await client.get(url, headers=ben.headers, params={"since": seen, "limit": 2})).json()
    assert [m["changeSeq"] for m in first["changes"]] == [4, 5]
    assert (first["lastSeq"], first["hasMore"]) == (5, True)
    rest = (
        await client.get(url, headers=ben.headers, params={"since": first["lastSeq"], "limit": 2})
    ).json()
    assert [m["changeSeq"] for m in rest["changes"]] == [6, 7]
    assert rest["hasMore"] is False
    nothing = (await client.get(url, headers=ben.headers, params={"since": 7})).json()
    assert nothing == {"changes": [], "lastSeq": 7, "hasMore": False}
    # From zero, every message once, at its latest state.
    everything = (await client.get(url, headers=ben.headers, params={"since": 0})).json()
    assert sorted(m["seq"] for m in everything["changes"]) == [1, 2, 3, 7]


async def test_search_finds_words_only_where_the_caller_is(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    ab = await create_group(client, ann, ben, name="ab")
    bc = await create_group(client, ben, cat, name="bc")
    hit = await send(client, ann, ab, "the Quarterly report is ready")
    await send(client, ben, bc, "quarterly numbers are secret")
    gone = await send(client, ann, ab, "quarterly draft to delete")
    await client.delete(f"/conversations/{ab}/messages/{gone['id']}", headers=ann.headers)
    await send(client, ann, ab, "nothing to see")

    async def search(who: Any, **params: Any) -> list[str]:
        r = await client.get("/search/messages", headers=who.headers, params=params)
        assert r.status_code == 200, r.text
        return [m["content"] for m in r.json()["messages"]]

    assert await search(ann, q="quarterly") == [hit["content"]]
    assert sorted(await search(ben, q="QUARTERLY")) == [
        "quarterly numbers are secret",
        hit["content"],
    ]
    assert await search(cat, q="quarterly report") == []
    assert await search(ben, q="quarterly", conversationId=bc) == ["quarterly numbers are secret"]
    assert_error(
        await client.get(
            "/search/messages", headers=cat.headers, params={"q": "x", "conversationId": ab}
        ),
        404,
    )
    # Query syntax is never interpreted: these are words (or nothing), not operators.
    for q in ('"', "*", "report OR secret", "NEAR(", "a:b", "%", "'; DROP TABLE messages; --"):
        r = await client.get("/search/messages", headers=ann.headers, params={"q": q})
        assert r.status_code == 200, (q, r.text)
    assert await search(ann, q="report OR secret") == []


async def test_search_pages_newest_first(client: httpx.AsyncClient, register: RegisterFn) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    for i in range(5):
        await send(client, ann, cid, f"needle {i}")
    first = (
        await client.get(
            "/search/messages", headers=ben.headers, params={"q": "needle", "limit": 3}
        )
    ).json()
    assert [m["content"] for m in first["messages"]] == ["needle 4", "needle 3", "needle 2"]
    assert first["hasMore"] is True
    second = (
        await client.get(
            "/search/messages",
            headers=ben.headers,
            params={"q": "needle", "limit": 3, "before": first["messages"][-1]["id"]},
        )
    ).json()
    assert [m["content"] for m in second["messages"]] == ["needle 1", "needle 0"]
    assert second["hasMore"] is False


async def test_send_rate_limit(client: httpx.AsyncClient, register: RegisterFn, node: Node) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    node.services.send._send_limits = type(node.services.send._send_limits)(rate_per_s=0.5, burst=2)
    await send(client, ann, cid, "1")
    await send(client, ann, cid, "2")
    limited = await client.post(
        f"/conversations/{cid}/messages", headers=ann.headers, json={"content": "3"}
    )
    body = assert_error(limited, 429, "rate_limited")
    assert "slow" in body["message"]
    assert int(limited.headers["retry-after"]) >= 1
    assert await count_rows(node, "messages") == 2
    # Another user is not affected.
    assert (
        await client.post(
            f"/conversations/{cid}/messages", headers=ben.headers, json={"content": "b"}
        )
    ).status_code == 201


@pytest.mark.parametrize("count", [FEW_CONVERSATIONS - 1, 55])
async def test_resume_across_conversations(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, count: int
) -> None:
    """`sync` over a few conversations (their access read one by one) and over many (the
    viewer's conversations read at once): each page holds exactly the changes after its
    number, a full page says there is more, a conversation without changes costs
    nothing, and one the user left comes back as removed."""
    ann, ben = await register("ann"), await register("ben")
    groups = [await create_group(client, ann, ben, name=f"g{i}") for i in range(count)]
    for i, cid in enumerate(groups):
        for n in range(i % 4):
            await send(client, ben, cid, f"{i}.{n}")
    left = await create_group(client, ben, ann, name="left")
    await send(client, ben, left, "before leaving")
    r = await client.delete(f"/conversations/{left}/participants/{ann.id}", headers=ann.headers)
    assert r.status_code == 200, r.text

    known = {uuid.UUID(cid): 1 for cid in groups} | {uuid.UUID(left): 0}
    pages, removed = await node.services.message_queries.sync(ann.id, known, limit=2)
    assert removed == [uuid.UUID(left)]
    assert list(pages) == [uuid.UUID(cid) for cid in groups]  # in the order asked
    for cid in groups:
        history = await node.services.message_queries.history(ann.id, uuid.UUID(cid), limit=100)
        after_one = [m["seq"] for m in history.messages if m["seq"] > 1]
        page = pages[uuid.UUID(cid)]
        assert [m["seq"] for m in page.changes] == after_one[:2], cid
        assert page.has_more is (len(after_one) > 2)
        last = max([1, *after_one])
        assert page.last_seq == (after_one[1] if page.has_more else last)

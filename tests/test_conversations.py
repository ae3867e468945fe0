"""Conversations, participants and spaces over HTTP (docs/http-api.md, Conversations and Spaces)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from hubbub.app import Node
from tests.chat import Recorder, create_group, create_private, insert_members, send
from tests.conftest import RegisterFn, assert_error, count_rows


@pytest.fixture
def recorder(node: Node) -> Recorder:
    rec = Recorder()
    node.services.bus.subscribe(rec)
    return rec


CONVERSATION_FIELDS = {
    "id", "type", "name", "description", "avatar", "spaceId", "isArchived", "createdBy",
    "createdAt", "updatedAt", "lastMessageAt", "lastMessage", "lastSeq", "participants",
    "participantCount", "unreadCount", "unreadMentions", "myRole", "notificationsEnabled",
    "notificationLevel", "mutedUntil",
}  # fmt: skip


async def test_private_conversation_is_one_per_pair(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    first = await client.post(
        "/conversations",
        headers=ann.headers,
        json={"type": "PRIVATE", "participantIds": [str(ben.id)]},
    )
    assert first.status_code == 201
    conv = first.json()["conversation"]
    assert set(conv) == CONVERSATION_FIELDS
    assert (conv["type"], conv["name"], conv["participantCount"], conv["lastSeq"]) == (
        "PRIVATE",
        None,
        2,
        0,
    )
    assert sorted(p["userId"] for p in conv["participants"]) == sorted([str(ann.id), str(ben.id)])
    assert all("email" not in p["user"] for p in conv["participants"])
    created = recorder.named("conversation_created")
    assert sorted(e.audience.user_ids for e in created) == sorted([(ann.id,), (ben.id,)])
    recorder.clear()
    again = await client.post(
        "/conversations",
        headers=ben.headers,
        json={"type": "PRIVATE", "participantIds": [str(ann.id)]},
    )
    assert again.status_code == 200
    assert again.json()["conversation"]["id"] == conv["id"]
    assert recorder.events == []
    assert await count_rows(node, "conversations") == 1
    # Nobody is added to, removed from or leaves a private conversation; it has no name.
    cat = await register("cat")
    cid = conv["id"]
    assert_error(
        await client.post(
            f"/conversations/{cid}/participants",
            headers=ann.headers,
            json={"userIds": [str(cat.id)]},
        ),
        403,
    )
    assert_error(
        await client.delete(f"/conversations/{cid}/participants/{ann.id}", headers=ann.headers), 403
    )
    assert_error(
        await client.patch(f"/conversations/{cid}", headers=ann.headers, json={"name": "x"}), 403
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "PRIVATE", "participantIds": []}, 422),
        ({"type": "PRIVATE", "participantIds": ["SELF"]}, 422),
        ({"type": "PRIVATE", "participantIds": ["OTHER", "THIRD"]}, 422),
        ({"type": "PRIVATE", "participantIds": [str(uuid.UUID(int=7))]}, 404),
        ({"type": "GROUP", "participantIds": ["OTHER"]}, 422),
        ({"type": "GROUP", "name": "g", "participantIds": []}, 422),
        ({"type": "GROUP", "name": "g", "participantIds": ["SELF"]}, 422),
        ({"type": "GROUP", "name": "  ", "participantIds": ["OTHER"]}, 422),
        ({"type": "GROUP", "name": "g" * 101, "participantIds": ["OTHER"]}, 422),
        ({"type": "GROUP", "name": "g", "participantIds": ["OTHER", str(uuid.UUID(int=9))]}, 404),
        ({"type": "SPACE", "name": "s"}, 422),
        ({"type": "SPACE", "name": "s", "spaceId": str(uuid.UUID(int=5))}, 404),
        ({"type": "CHANNEL", "name": "g", "participantIds": ["OTHER"]}, 400),
    ],
)
async def test_create_conversation_rules(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, body: dict[str, Any], status: int
) -> None:
    me, other, third = await register(), await register(), await register()
    ids = {"SELF": str(me.id), "OTHER": str(other.id), "THIRD": str(third.id)}
    body = {**body, "participantIds": [ids.get(x, x) for x in body.get("participantIds", [])]}
    assert_error(await client.post("/conversations", headers=me.headers, json=body), status)
    assert await count_rows(node, "conversations") == 0
    assert await count_rows(node, "conversation_participants") == 0


async def test_group_roles_members_and_system_messages(
    client: httpx.AsyncClient, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    cid = await create_group(client, ann, ben, name="Project")
    conv = (await client.get(f"/conversations/{cid}", headers=ann.headers)).json()["conversation"]
    roles = {p["user"]["username"]: p["role"] for p in conv["participants"]}
    assert roles == {"ann": "OWNER", "ben": "MEMBER"}
    assert conv["myRole"] == "OWNER"
    recorder.clear()
    added = await client.post(
        f"/conversations/{cid}/participants", headers=ann.headers, json={"userIds": [str(cat.id)]}
    )
    assert added.status_code == 200
    assert added.json()["conversation"]["participantCount"] == 3
    names = [e.name for e in recorder.events]
    assert names == ["new_message", "participant_added", "conversation_created"]
    system = recorder.events[0].payload["message"]
    assert (system["type"], system["content"]) == ("SYSTEM", "ann added cat")
    assert recorder.events[1].payload["participant"]["userId"] == str(cat.id)
    assert recorder.events[2].audience.user_ids == (cat.id,)
    # cat joined after the system message: it starts with nothing unread.
    cat_view = (await client.get(f"/conversations/{cid}", headers=cat.headers)).json()[
        "conversation"
    ]
    assert cat_view["unreadCount"] == 0
    # Adding someone already in changes nothing.
    recorder.clear()
    await client.post(
        f"/conversations/{cid}/participants", headers=ann.headers, json={"userIds": [str(cat.id)]}
    )
    assert recorder.events == []
    renamed = await client.patch(
        f"/conversations/{cid}", headers=ann.headers, json={"name": "Launch"}
    )
    assert renamed.json()["conversation"]["name"] == "Launch"
    await client.delete(f"/conversations/{cid}/participants/{cat.id}", headers=ann.headers)
    await client.delete(f"/conversations/{cid}/participants/{ben.id}", headers=ben.headers)
    history = (await client.get(f"/conversations/{cid}/messages", headers=ann.headers)).json()[
        "messages"
    ]
    assert [(m["type"], m["content"]) for m in history] == [
        ("SYSTEM", "ann added cat"),
        ("SYSTEM", "ann renamed the conversation to “Launch”"),
        ("SYSTEM", "ann removed cat"),
        ("SYSTEM", "ben left"),
    ]
    assert [m["metadata"]["event"] for m in history] == [
        "participants_added",
        "renamed",
        "participant_removed",
        "left",
    ]
    # Those who are out see nothing more of it.
    for gone in (ben, cat):
        assert_error(
            await client.get(f"/conversations/{cid}", headers=gone.headers),
            404,
            "conversation_not_found",
        )
        assert_error(await client.get(f"/conversations/{cid}/messages", headers=gone.headers), 404)


async def test_removed_participant_events_and_readding(
    client: httpx.AsyncClient, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    await send(client, ann, cid, "before")
    recorder.clear()
    await client.delete(f"/conversations/{cid}/participants/{ben.id}", headers=ann.headers)
    removed = recorder.named("participant_removed")
    assert len(removed) == 1
    assert removed[0].payload == {"conversationId": cid, "userId": str(ben.id)}
    assert removed[0].audience.conversation_id == uuid.UUID(cid)
    assert removed[0].audience.user_ids == (ben.id,)
    await send(client, ann, cid, "while away")
    back = await client.post(
        f"/conversations/{cid}/participants", headers=ann.headers, json={"userIds": [str(ben.id)]}
    )
    assert back.status_code == 200
    view = (await client.get(f"/conversations/{cid}", headers=ben.headers)).json()["conversation"]
    assert view["unreadCount"] == 0
    assert view["myRole"] == "MEMBER"


async def test_owner_leaving_hands_the_group_over(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    cid = await create_group(client, ann, ben, cat)
    await client.patch(
        f"/conversations/{cid}/participants/{cat.id}", headers=ann.headers, json={"role": "ADMIN"}
    )
    assert (
        await client.delete(f"/conversations/{cid}/participants/{ann.id}", headers=ann.headers)
    ).status_code == 200
    conv = (await client.get(f"/conversations/{cid}", headers=ben.headers)).json()["conversation"]
    roles = {p["user"]["username"]: p["role"] for p in conv["participants"]}
    assert roles == {"ben": "MEMBER", "cat": "OWNER"}


async def test_settings_are_the_callers_own(
    client: httpx.AsyncClient, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    recorder.clear()
    r = await client.put(
        f"/conversations/{cid}/settings",
        headers=ben.headers,
        json={"isArchived": True, "notificationsEnabled": False},
    )
    conv = r.json()["conversation"]
    assert (conv["isArchived"], conv["notificationsEnabled"]) == (True, False)
    assert [(e.name, e.audience.user_ids) for e in recorder.events] == [
        ("conversation_updated", (ben.id,))
    ]
    ann_view = (await client.get(f"/conversations/{cid}", headers=ann.headers)).json()[
        "conversation"
    ]
    assert (ann_view["isArchived"], ann_view["notificationsEnabled"]) == (False, True)
    listed = (await client.get("/conversations", headers=ben.headers)).json()
    assert listed == {"conversations": [], "total": 0, "nextCursor": None}
    archived = (
        await client.get("/conversations", headers=ben.headers, params={"archived": "true"})
    ).json()
    assert [c["id"] for c in archived["conversations"]] == [cid]


async def test_list_orders_by_activity_and_pages(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    others = [await register(f"usr{i}") for i in range(4)]
    cids = [await create_private(client, ann, o) for o in others]
    await send(client, ann, cids[1], "newest activity")
    listed = (await client.get("/conversations", headers=ann.headers, params={"limit": 2})).json()
    assert listed["total"] == 4
    ids = [c["id"] for c in listed["conversations"]]
    assert ids[0] == cids[1]
    assert len(ids) == 2
    rest = (
        await client.get(
            "/conversations",
            headers=ann.headers,
            params={"limit": 10, "before": listed["conversations"][-1]["lastMessageAt"]},
        )
    ).json()
    assert len(ids) + len(rest["conversations"]) == 4
    assert set(ids).isdisjoint(c["id"] for c in rest["conversations"])
    first = listed["conversations"][0]
    assert first["lastMessage"]["content"] == "newest activity"


async def test_spaces_and_their_conversations(
    client: httpx.AsyncClient, register: RegisterFn, recorder: Recorder
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    space = (
        await client.post("/spaces", headers=ann.headers, json={"name": "Acme", "description": "d"})
    ).json()["space"]
    assert (space["name"], space["memberCount"], space["myRole"]) == ("Acme", 1, "OWNER")
    sid = space["id"]
    await client.post(
        f"/spaces/{sid}/members", headers=ann.headers, json={"userIds": [str(ben.id)]}
    )
    general = (
        await client.post(
            "/conversations",
            headers=ben.headers,
            json={"type": "SPACE", "name": "general", "spaceId": sid},
        )
    ).json()["conversation"]
    assert (general["type"], general["spaceId"], general["participantCount"]) == ("SPACE", sid, 2)
    assert_error(await client.get(f"/spaces/{sid}", headers=cat.headers), 404, "space_not_found")
    assert_error(await client.get(f"/conversations/{general['id']}", headers=cat.headers), 404)
    recorder.clear()
    joined = await client.post(
        f"/spaces/{sid}/members", headers=ann.headers, json={"userIds": [str(cat.id)]}
    )
    assert joined.json()["space"]["memberCount"] == 3
    assert [(e.name, e.audience.user_ids) for e in recorder.events] == [
        ("conversation_created", (cat.id,)),
        ("participant_added", (cat.id,)),
    ]
    # A new member is in every space conversation at once, and can send there.
    await send(client, cat, general["id"], "hello space")
    listed = (await client.get(f"/spaces/{sid}/conversations", headers=cat.headers)).json()[
        "conversations"
    ]
    assert [c["id"] for c in listed] == [general["id"]]
    mine = (await client.get("/spaces", headers=cat.headers)).json()["spaces"]
    assert [(s["id"], s["myRole"]) for s in mine] == [(sid, "MEMBER")]
    # Leaving the space leaves its conversations.
    recorder.clear()
    assert (
        await client.delete(f"/spaces/{sid}/members/{cat.id}", headers=cat.headers)
    ).status_code == 200
    assert [e.name for e in recorder.events] == ["participant_removed"]
    assert_error(
        await client.get(f"/conversations/{general['id']}/messages", headers=cat.headers), 404
    )
    assert_error(await client.delete(f"/spaces/{sid}/members/{ann.id}", headers=ann.headers), 403)
    assert_error(
        await client.delete(
            f"/conversations/{general['id']}/participants/{ben.id}", headers=ben.headers
        ),
        403,
    )


async def test_a_send_writes_the_same_few_rows_whatever_the_group_size(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    """A send's writes are O(1) in the group size (docs/data-model.md), on 500 members."""
    ann, ben = await register("ann"), await register("ben")
    small = await create_group(client, ann, ben, name="small")
    big = await create_group(client, ann, ben, name="big")
    await insert_members(node, big, 498)
    big_view = (await client.get(f"/conversations/{big}", headers=ann.headers)).json()[
        "conversation"
    ]
    assert big_view["participantCount"] == 500

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Every write of the statement (PostgreSQL numbers and inserts a batch of sends
        # in one statement: an UPDATE and an INSERT in a WITH).
        # The SQLite search indexer's own background writes (messages_fts*) run on the
        # same engine at any moment: they are not the send's.
        for verb, table in re.findall(r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", statement):
            if not table.startswith("messages_fts"):
                statements.append(verb.split()[0] + " " + table)

    engine = node.services.db.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await send(client, ann, small, "to two")
        small_writes = list(statements)
        statements.clear()
        await send(client, ann, big, "to five hundred")
        big_writes = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert big_writes == small_writes
    assert sorted(big_writes) == ["INSERT messages", "UPDATE conversations"]

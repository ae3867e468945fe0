"""The Socket.IO gateway end to end (docs/socket-protocol.md): a real `hubbub serve`, real clients.

One server per module (typing expiry and the presence grace period shortened); every
test makes its own new users, so tests share the server but never each other's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from hubbub.security.tokens import TokenSigner
from tests.conftest import JWT_SECRET, Backend
from tests.gw import (
    Client,
    Server,
    User,
    clients,
    group,
    history,
    http_send,
    login,
    own_database,
    register,
    start_server,
)

TYPING_TTL_S = 1.5
PRESENCE_GRACE_S = 1.0
OTHER_ORIGIN = "https://chat.example"

Connect = Callable[..., Any]


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    directory = tmp_path_factory.mktemp("gateway")
    async with own_database(backend, directory) as env:
        srv = start_server(
            directory,
            env | {"HUBBUB_ALLOWED_ORIGINS": OTHER_ORIGIN},
            typing_ttl_s=TYPING_TTL_S,
            presence_grace_s=PRESENCE_GRACE_S,
        )
        try:
            yield srv
        finally:
            srv.stop()


@contextlib.asynccontextmanager
async def server_with(
    server: Server, directory: Path, settings: dict[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, Connect]]:
    """A server of its own on the module server's database, with `settings` on top."""
    prefix = {"HUBBUB_REDIS_PREFIX": f"hubbub-test-own-{uuid.uuid4().hex[:8]}:"}
    own = start_server(directory, server.env | prefix | settings)
    try:
        async with (
            httpx.AsyncClient(base_url=own.base, timeout=10) as h,
            clients(own.base) as conn,
        ):
            yield h, conn
    finally:
        own.stop()


@pytest.fixture(scope="module")
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        yield c


@pytest.fixture
async def connect(server: Server) -> AsyncIterator[Connect]:
    async with clients(server.base) as factory:
        yield factory


def chatter(c: Client, own: User) -> list[tuple[str, Any]]:
    """What a socket received besides its greeting and its own user's presence."""
    return [
        (e, d)
        for e, d in c.events
        if e != "connection_success"
        and not (e in ("user_online", "user_offline") and d["userId"] == own.id)
    ]


def _sid(token: str) -> uuid.UUID:
    return uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sid"])


# Handshake -----------------------------------------------------------------------------


async def test_connection_success_with_auth_token(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a = await register(http)
    c: Client = await connect(a)
    hello = c.named("connection_success")
    assert len(hello) == 1
    assert set(hello[0]) == {"userId", "socketId", "connectionTime", "serverTime"}
    assert hello[0]["userId"] == a.id
    assert hello[0]["socketId"] == c.sio.get_sid(namespace="/messaging")
    assert isinstance(hello[0]["connectionTime"], int | float)
    assert hello[0]["connectionTime"] >= 0
    server_time = datetime.fromisoformat(hello[0]["serverTime"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - server_time).total_seconds()) < 60


async def test_token_in_authorization_header_and_allowed_origins(
    http: httpx.AsyncClient, connect: Connect, server: Server
) -> None:
    a = await register(http)
    by_header: Client = await connect(a, headers={"Authorization": f"Bearer {a.token}"})
    assert by_header.named("connection_success")[0]["userId"] == a.id
    for origin in (OTHER_ORIGIN, server.base):
        c: Client = await connect(a, auth={"token": a.token}, headers={"Origin": origin})
        assert c.named("connection_success")[0]["userId"] == a.id


async def test_refused_handshakes_get_unauthorized(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a = await register(http)
    b = await register(http)
    watcher: Client = await connect(b)
    await group(http, b, a)
    second = await login(http, a)
    r = await http.post("/auth/logout", headers=second.headers, json={})
    assert r.status_code == 200, r.text
    expired, _ = TokenSigner(JWT_SECRET, access_ttl_s=60).issue_access(
        uuid.UUID(a.id), _sid(a.token), now=datetime.now(UTC) - timedelta(hours=1)
    )
    forged, _ = TokenSigner("another-secret-" + "y" * 60, access_ttl_s=60).issue_access(
        uuid.UUID(a.id), _sid(a.token)
    )
    cases: list[dict[str, Any]] = [
        {"auth": {}},
        {"auth": {"token": ""}},
        {"auth": {"token": "not.a.jwt"}},
        {"auth": {"token": forged}},
        {"auth": {"token": expired}},
        {"auth": {"token": second.token}},  # revoked by the logout
        {"auth": {"token": a.token, "userId": b.id}},  # someone else's id
        {"headers": {"Authorization": "Bearer nonsense"}},
        {"auth": {"token": a.token}, "headers": {"Origin": "https://evil.example"}},
    ]
    for case in cases:
        c: Client = await connect(None, **case)
        assert c.connect_error == {"message": "unauthorized"}, case
        assert c.named("connection_success") == [], case
    # Nobody was told: the refused user never came online.
    await watcher.barrier()
    assert [e for e in watcher.named("user_online") if e["userId"] == a.id] == []


# Sending -------------------------------------------------------------------------------


async def test_send_message_ack_and_exact_recipients(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, stranger = await register(http), await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    a2: Client = await connect(a)
    b1: Client = await connect(b)
    s1: Client = await connect(stranger)

    oid = "opt-" + uuid.uuid4().hex
    ack = await a1.call(
        "send_message", {"conversationId": cid, "content": "hello", "optimisticId": oid}
    )
    assert ack["ok"] is True
    message = ack["message"]
    assert message["content"] == "hello"
    assert message["conversationId"] == cid
    assert message["senderId"] == a.id
    assert message["optimisticId"] == oid
    assert message["seq"] == 1
    assert message["status"] == "SENT"

    sent = await a1.wait_for("message_sent")
    assert sent == {"optimisticId": oid, "message": message, "success": True}
    for c in (a2, b1):
        got = await c.wait_for("new_message")
        assert got == {"message": message, "conversationId": cid}
    for c in (a1, a2, b1, s1):
        await c.barrier()
    assert a1.named("new_message") == []  # the sending socket is left out
    assert a2.named("message_sent") == []
    assert b1.named("message_sent") == []
    assert len(a2.named("new_message")) == 1
    assert len(b1.named("new_message")) == 1
    assert chatter(s1, stranger) == []


async def test_send_message_without_ack_gets_message_sent(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    await a1.emit("send_message", {"conversationId": cid, "content": "x", "optimisticId": "o1"})
    sent = await a1.wait_for("message_sent")
    assert sent["optimisticId"] == "o1"
    assert sent["success"] is True
    got = await b1.wait_for("new_message")
    assert got["message"] == sent["message"]


async def test_idempotent_retry_returns_the_original(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    payload = {"conversationId": cid, "content": "once", "optimisticId": "same-key"}
    first = await a1.call("send_message", payload)
    second = await a1.call("send_message", payload | {"content": "twice?"})
    assert first["ok"]
    assert second["ok"]
    assert second["message"] == first["message"]
    sent = [await a1.wait_for("message_sent", count=n) for n in (1, 2)]
    assert sent[0]["message"] == sent[1]["message"] == first["message"]
    # Over another socket of the sender, and over HTTP: still the original.
    a2: Client = await connect(a)
    third = await a2.call("send_message", payload)
    assert third["message"] == first["message"]
    over_http = await http_send(http, a, cid, "again", optimisticId="same-key")
    assert over_http["id"] == first["message"]["id"]
    await b1.wait_for("new_message")
    await b1.barrier()
    assert len(b1.named("new_message")) == 1
    assert [m["id"] for m in await history(http, b, cid)] == [first["message"]["id"]]


async def test_http_send_reaches_sockets(http: httpx.AsyncClient, connect: Connect) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    message = await http_send(http, a, cid, "over http")
    for c in (a1, b1):
        assert await c.wait_for("new_message") == {"message": message, "conversationId": cid}


async def test_send_failures(http: httpx.AsyncClient, connect: Connect) -> None:
    a, b, stranger = await register(http), await register(http), await register(http)
    cid = await group(http, a, b)
    b1: Client = await connect(b)
    s1: Client = await connect(stranger)
    ack = await s1.call(
        "send_message", {"conversationId": cid, "content": "intrude", "optimisticId": "s1"}
    )
    assert ack["ok"] is False
    assert ack["error"]["code"] == "conversation_not_found"
    err = await s1.wait_for("message_error")
    assert err == {
        "optimisticId": "s1",
        "success": False,
        "error": {"code": "conversation_not_found", "message": ack["error"]["message"]},
    }
    a1: Client = await connect(a)
    for n, content in enumerate(("", "   ", "x" * 10_001), start=1):
        ack = await a1.call(
            "send_message", {"conversationId": cid, "content": content, "optimisticId": "e"}
        )
        assert ack["ok"] is False
        assert ack["error"]["code"] == "invalid_message", ack
        err = await a1.wait_for("message_error", count=n)
        assert err == {"optimisticId": "e", "success": False, "error": ack["error"]}
    # A failure without an ack: message_error, never `exception`, for send_message.
    await s1.emit("send_message", {"conversationId": cid, "content": "x", "optimisticId": "s3"})
    err = await s1.wait_for("message_error", lambda d: d["optimisticId"] == "s3")
    assert err["error"]["code"] == "conversation_not_found"
    await s1.barrier()
    assert s1.named("exception") == []
    await b1.barrier()
    assert b1.named("new_message") == []
    assert await history(http, b, cid) == []


# Membership changes --------------------------------------------------------------------


async def test_conversation_created_and_participant_added_join_at_once(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, c = await register(http), await register(http), await register(http)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    c1: Client = await connect(c)
    cid = await group(http, a, b)
    created = await b1.wait_for("conversation_created")
    assert created["conversation"]["id"] == cid
    assert {p["userId"] for p in created["conversation"]["participants"]} == {a.id, b.id}
    message = await a1.send(cid, "first")
    assert (await b1.wait_for("new_message"))["message"] == message

    r = await http.post(
        f"/conversations/{cid}/participants", headers=a.headers, json={"userIds": [c.id]}
    )
    assert r.status_code == 200, r.text
    for client in (a1, b1, c1):
        added = await client.wait_for("participant_added")
        assert added["conversationId"] == cid
        assert added["participant"]["userId"] == c.id
        assert added["participant"]["status"] == "ACTIVE"
    second = await a1.send(cid, "second")
    got = await c1.wait_for("new_message")
    assert got == {"message": second, "conversationId": cid}
    await c1.barrier()
    assert len(c1.named("new_message")) == 1  # not the one sent before joining


async def test_participant_removed_reaches_the_removed_then_nothing(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, c = await register(http), await register(http), await register(http)
    cid = await group(http, a, b, c)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    c1: Client = await connect(c)
    r = await http.delete(f"/conversations/{cid}/participants/{c.id}", headers=a.headers)
    assert r.status_code == 200, r.text
    for client in (a1, b1, c1):
        assert await client.wait_for("participant_removed") == {
            "conversationId": cid,
            "userId": c.id,
        }
    await a1.send(cid, "after")
    await a1.emit("typing", {"conversationId": cid})
    await b1.wait_for("new_message")
    await b1.wait_for("typing")
    await c1.barrier()
    # The SYSTEM message announcing the removal, then the removal, then nothing from the
    # conversation. (Presence of contacts may arrive at any time: the others' `user_online`
    # is published just after their handshakes, possibly after this socket connected.)
    # The removed one's count of it, heard after the removal, is 0 (`unread_count`).
    got = [
        (e, d)
        for e, d in chatter(c1, c)
        if e not in ("user_online", "user_offline", "unread_count")
    ]
    assert [e for e, _ in got] == ["new_message", "participant_removed"], got
    assert all(d["unreadCount"] == 0 for d in c1.named("unread_count")), c1.events
    assert got[0][1]["message"]["type"] == "SYSTEM"
    ack = await c1.call("join_conversation", {"conversationId": cid})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "conversation_not_found"


async def test_join_and_leave_conversation(http: httpx.AsyncClient, connect: Connect) -> None:
    a, b, stranger = await register(http), await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    b2: Client = await connect(b)
    s1: Client = await connect(stranger)
    assert await b1.call("leave_conversation", {"conversationId": cid}) == {"ok": True}
    first = await a1.send(cid, "one")
    await b2.wait_for("new_message")
    await b1.barrier()
    assert b1.named("new_message") == []  # this socket left; the other did not
    assert await b1.call("join_conversation", {"conversationId": cid}) == {
        "ok": True,
        "conversationId": cid,
    }
    second = await a1.send(cid, "two")
    assert (await b1.wait_for("new_message"))["message"] == second
    assert next(d["message"] for d in b2.named("new_message")) == first
    # A non-member can join nothing, and learns nothing.
    ack = await s1.call("join_conversation", {"conversationId": cid})
    assert ack == {
        "ok": False,
        "error": {"code": "conversation_not_found", "message": ack["error"]["message"]},
    }
    missing = await s1.call("join_conversation", {"conversationId": str(uuid.uuid4())})
    assert missing["error"] == ack["error"]
    await a1.send(cid, "three")
    await s1.barrier()
    assert s1.named("new_message") == []
    # Leaving changes no membership: history is still readable.
    assert len(await history(http, b, cid)) == 3


# Typing --------------------------------------------------------------------------------


async def test_typing_once_per_change_and_stop_on_send(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, stranger = await register(http), await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    a2: Client = await connect(a)
    b1: Client = await connect(b)
    for _ in range(5):
        assert await a1.call("typing", {"conversationId": cid}) == {"ok": True}
    typing = await b1.wait_for("typing")
    assert typing == {"conversationId": cid, "userId": a.id, "username": a.username}
    await a1.send(cid, "done typing")
    stop = await b1.wait_for("stop_typing")
    assert stop == {"conversationId": cid, "userId": a.id}
    await b1.barrier()
    assert len(b1.named("typing")) == 1
    assert len(b1.named("stop_typing")) == 1
    await a2.barrier()
    assert a2.named("typing") == []  # the typist's own sockets hear nothing
    assert a2.named("stop_typing") == []
    # An explicit stop_typing; a second one changes nothing and says nothing.
    await a1.call("typing", {"conversationId": cid})
    await b1.wait_for("typing", count=2)
    assert await a1.call("stop_typing", {"conversationId": cid}) == {"ok": True}
    assert await a1.call("stop_typing", {"conversationId": cid}) == {"ok": True}
    await b1.wait_for("stop_typing", count=2)
    await b1.barrier()
    assert len(b1.named("stop_typing")) == 2
    # A non-member cannot type there.
    s1: Client = await connect(stranger)
    ack = await s1.call("typing", {"conversationId": cid})
    assert ack["error"]["code"] == "conversation_not_found"
    await b1.barrier()
    assert len(b1.named("typing")) == 2


async def test_typing_expires_and_stops_on_last_disconnect(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    await a1.call("typing", {"conversationId": cid})
    await b1.wait_for("typing")
    # No refresh: the server stops it after TYPING_TTL_S.
    stop = await b1.wait_for("stop_typing", within=TYPING_TTL_S + 5)
    assert stop == {"conversationId": cid, "userId": a.id}
    # Typing again, then the typist's last socket goes: stop_typing at once.
    a2: Client = await connect(a)
    await a1.call("typing", {"conversationId": cid})
    await b1.wait_for("typing", count=2)
    await a1.close()
    await a2.barrier()
    assert len(b1.named("stop_typing")) == 1  # a2 is still connected
    await a2.close()
    assert await b1.wait_for("stop_typing", count=2, within=TYPING_TTL_S) == stop


# Presence ------------------------------------------------------------------------------


async def test_presence_online_offline_and_get_presence(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, stranger = await register(http), await register(http), await register(http)
    await group(http, a, b)
    b1: Client = await connect(b)
    s1: Client = await connect(stranger)
    a1: Client = await connect(a)
    online = await b1.wait_for("user_online", lambda d: d["userId"] == a.id)
    assert set(online) == {"userId", "at"}
    a2: Client = await connect(a)  # a second socket: not a change
    ack = await b1.call("get_presence", {"userIds": [a.id, stranger.id, str(uuid.uuid4())]})
    assert ack["ok"] is True
    assert set(ack["presence"]) == {a.id}  # only contacts
    assert ack["presence"][a.id]["isOnline"] is True
    await a1.close()
    await a2.close()
    offline = await b1.wait_for(
        "user_offline", lambda d: d["userId"] == a.id, within=PRESENCE_GRACE_S + 5
    )
    assert set(offline) == {"userId", "lastSeen"}
    await b1.barrier()
    assert len([d for d in b1.named("user_online") if d["userId"] == a.id]) == 1
    assert len([d for d in b1.named("user_offline") if d["userId"] == a.id]) == 1
    ack = await b1.call("get_presence", {"userIds": [a.id]})
    assert ack["presence"] == {a.id: {"isOnline": False, "lastSeen": offline["lastSeen"]}}
    await s1.barrier()
    assert [d for e, d in s1.events if e.startswith("user_") and d["userId"] == a.id] == []


async def test_presence_of_many_at_once_reaches_each_contact_once(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    """Users coming online together: their node holds each socket's presence for a
    moment and writes it as consecutive frames of one write; every one arrives, once."""
    watcher = await register(http)
    others = [await register(http) for _ in range(4)]
    await group(http, watcher, *others)
    w1: Client = await connect(watcher)
    await asyncio.gather(*(connect(user) for user in others))
    for user in others:
        await w1.wait_for("user_online", lambda d, uid=user.id: d["userId"] == uid)
    await w1.barrier()
    ids = {user.id for user in others}
    online = sorted(d["userId"] for d in w1.named("user_online") if d["userId"] != watcher.id)
    assert online == sorted(ids)


async def test_quick_reconnect_emits_no_presence_change(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    await group(http, a, b)
    b1: Client = await connect(b)
    a1: Client = await connect(a)
    await b1.wait_for("user_online", lambda d: d["userId"] == a.id)
    await a1.close()
    a2: Client = await connect(a)
    await asyncio.sleep(PRESENCE_GRACE_S + 0.5)  # past the grace period
    await a2.barrier()
    await b1.barrier()
    assert len([d for d in b1.named("user_online") if d["userId"] == a.id]) == 1
    assert [d for d in b1.named("user_offline") if d["userId"] == a.id] == []


# Read and delivered markers ------------------------------------------------------------


async def test_mark_as_read_and_delivered(http: httpx.AsyncClient, connect: Connect) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    b2: Client = await connect(b)
    m1 = await a1.send(cid, "one")
    m2 = await a1.send(cid, "two")
    ack = await b1.call("mark_as_delivered", {"conversationId": cid, "messageId": m2["id"]})
    assert ack == {"ok": True}
    for c in (a1, b1, b2):
        delivered = await c.wait_for("messages_delivered")
        assert delivered == {
            "conversationId": cid,
            "userId": b.id,
            "messageId": m2["id"],
            "seq": m2["seq"],
        }
    ack = await b1.call("mark_as_read", {"conversationId": cid, "messageId": m1["id"]})
    assert ack == {"ok": True, "unreadCount": 1, "lastReadSeq": m1["seq"]}
    read = await a1.wait_for("messages_read")
    assert set(read) == {"conversationId", "userId", "messageId", "seq", "readAt"}
    assert (read["conversationId"], read["userId"], read["messageId"], read["seq"]) == (
        cid,
        b.id,
        m1["id"],
        m1["seq"],
    )
    # Both of b's sockets hear the count the read left (coalesced: the last value wins).
    for c in (b1, b2):
        assert await c.wait_for("unread_count", lambda d: d["unreadCount"] == 1) == {
            "conversationId": cid,
            "unreadCount": 1,
            "totalUnread": 1,
            "unreadMentions": 0,
        }
    # Backwards: nothing moves, nothing is emitted.
    m0 = await a1.send(cid, "three")
    await b1.call("mark_as_read", {"conversationId": cid, "messageId": m0["id"]})
    for c in (b1, b2):
        await c.wait_for("unread_count", lambda d: d["unreadCount"] == 0)
    back = await b1.call("mark_as_read", {"conversationId": cid, "messageId": m1["id"]})
    assert back == {"ok": True, "unreadCount": 0, "lastReadSeq": m0["seq"]}
    await b2.barrier()
    await a1.barrier()
    assert len(a1.named("messages_read")) == 2
    # A stranger can mark nothing.
    stranger = await register(http)
    s1: Client = await connect(stranger)
    bad = await s1.call("mark_as_read", {"conversationId": cid, "messageId": m1["id"]})
    assert bad["ok"] is False
    assert bad["error"]["code"] == "conversation_not_found"


# Changes to messages, conversations and users ------------------------------------------


async def test_edits_deletes_reactions_and_updates_reach_participants(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, stranger = await register(http), await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    s1: Client = await connect(stranger)
    message = await a1.send(cid, "draft")
    r = await http.patch(
        f"/conversations/{cid}/messages/{message['id']}", headers=a.headers, json={"content": "v2"}
    )
    assert r.status_code == 200, r.text
    edited = r.json()["message"]
    for c in (a1, b1):
        assert await c.wait_for("message_updated") == {"message": edited, "conversationId": cid}
    assert edited["content"] == "v2"
    assert edited["changeSeq"] > message["changeSeq"]
    r = await http.post(
        f"/conversations/{cid}/messages/{message['id']}/reactions",
        headers=b.headers,
        json={"emoji": "🎉"},
    )
    assert r.status_code in (200, 201), r.text
    reacted = await a1.wait_for("message_updated", count=2)
    assert reacted["message"]["reactions"] == [{"emoji": "🎉", "count": 1, "userIds": [b.id]}]
    r = await http.delete(f"/conversations/{cid}/messages/{message['id']}", headers=a.headers)
    assert r.status_code == 200, r.text
    deleted = r.json()["message"]
    for c in (a1, b1):
        assert await c.wait_for("message_deleted") == {"message": deleted, "conversationId": cid}
    assert deleted["status"] == "DELETED"
    r = await http.patch(f"/conversations/{cid}", headers=a.headers, json={"name": "renamed"})
    assert r.status_code == 200, r.text
    for c in (a1, b1):
        updated = await c.wait_for("conversation_updated")
        assert updated["conversation"]["id"] == cid
        assert updated["conversation"]["name"] == "renamed"
    r = await http.put("/users/me", headers=a.headers, json={"displayName": "A New Name"})
    assert r.status_code == 200, r.text
    for c in (a1, b1):
        user = (await c.wait_for("user_updated"))["user"]
        assert user["id"] == a.id
        assert user["displayName"] == "A New Name"
    await s1.barrier()
    assert chatter(s1, stranger) == []


# Resume --------------------------------------------------------------------------------


async def test_resume_returns_exactly_the_missed_changes_once(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    left_cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    seen = await a1.send(cid, "seen before the disconnect")
    other = await a1.send(left_cid, "in the one b will leave")
    await b1.wait_for("new_message", lambda d: d["message"]["id"] == other["id"])
    last = {cid: seen["changeSeq"], left_cid: other["changeSeq"]}
    await b1.close()

    m1 = await a1.send(cid, "one")
    m2 = await http_send(http, a, cid, "two")
    m3 = await a1.send(cid, "three")
    m4 = await http_send(http, a, cid, "four")
    r = await http.patch(
        f"/conversations/{cid}/messages/{m1['id']}", headers=a.headers, json={"content": "1!"}
    )
    assert r.status_code == 200, r.text
    r = await http.delete(f"/conversations/{cid}/messages/{m2['id']}", headers=a.headers)
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/conversations/{cid}/messages/{m3['id']}/reactions",
        headers=a.headers,
        json={"emoji": "👍"},
    )
    assert r.status_code in (200, 201), r.text
    r = await http.delete(f"/conversations/{left_cid}/participants/{b.id}", headers=b.headers)
    assert r.status_code == 200, r.text

    b2: Client = await connect(b)
    pages = []
    since = dict(last)
    while True:
        ack = await b2.call("sync", {"conversations": since, "limit": 2})
        assert ack["ok"] is True
        assert ack["removed"] == [left_cid]
        assert set(ack["conversations"]) == {cid}
        page = ack["conversations"][cid]
        assert len(page["changes"]) <= 2
        pages.append(page)
        since = {cid: page["lastSeq"], left_cid: last[left_cid]}
        if not page["hasMore"]:
            break
    assert pages[0]["hasMore"] is True
    # Ordered by their last change: m4 (created) before the edit, the delete, the reaction.
    assert [m["id"] for m in pages[0]["changes"]] == [m4["id"], m1["id"]]
    changes = [m for p in pages for m in p["changes"]]
    # Each missed message exactly once, in its latest state, in changeSeq order.
    assert [m["id"] for m in changes] == [m4["id"], m1["id"], m2["id"], m3["id"]]
    seqs = [m["changeSeq"] for m in changes]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    assert seqs[0] > last[cid]
    assert pages[-1]["lastSeq"] == max(seqs)
    plain, edited, deleted, reacted = changes
    assert edited["content"] == "1!"
    assert edited["editedAt"] is not None
    assert deleted["status"] == "DELETED"
    assert deleted["content"] == ""
    assert deleted["deletedAt"] is not None
    assert reacted["reactions"] == [{"emoji": "👍", "count": 1, "userIds": [a.id]}]
    assert plain == m4 | {"changeSeq": plain["changeSeq"]}
    # Nothing more after the last page; over HTTP, the same changes.
    again = await b2.call("sync", {"conversations": {cid: pages[-1]["lastSeq"]}})
    assert again["conversations"][cid]["changes"] == []
    assert again["conversations"][cid]["hasMore"] is False
    r = await http.get(
        f"/conversations/{cid}/changes", headers=b.headers, params={"since": last[cid]}
    )
    assert [m["id"] for m in r.json()["changes"]] == [m["id"] for m in changes]
    # The conversation it left sends it nothing live any more.
    await a1.send(left_cid, "after leaving")
    await b2.barrier()
    assert b2.named("new_message") == []


# Transports and sessions ---------------------------------------------------------------


async def test_polling_transport(http: httpx.AsyncClient, connect: Connect) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a, transports=["polling"])
    b1: Client = await connect(b, transports=["polling"])
    assert a1.sio.transport() == "polling"
    message = await a1.send(cid, "over long-polling")
    assert await b1.wait_for("new_message") == {"message": message, "conversationId": cid}
    await b1.call("typing", {"conversationId": cid})
    assert (await a1.wait_for("typing"))["userId"] == b.id


def counter(metrics: str, name: str) -> float:
    lines = [line for line in metrics.splitlines() if line.startswith(name + " ")]
    return float(lines[0].split()[1])


async def test_a_burst_arrives_in_order_over_both_write_paths(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    """Frames written straight to a WebSocket and frames queued behind python-socketio's
    own packets (acks) keep their order on the socket; polling sockets get the same."""
    a, b, c = await register(http), await register(http), await register(http)
    cid = await group(http, a, b, c)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    c1: Client = await connect(c, transports=["polling"])
    before = counter((await http.get("/metrics")).text, "hubbub_direct_writes_total")
    acks = await asyncio.gather(
        *(
            a1.call(
                "send_message", {"conversationId": cid, "content": f"m{i}", "optimisticId": f"b{i}"}
            )
            for i in range(25)
        )
    )
    assert all(ack["ok"] for ack in acks), acks
    seqs = sorted(ack["message"]["seq"] for ack in acks)
    for receiver in (b1, c1):
        await receiver.wait_for("new_message", count=25)
        got = [e["message"]["seq"] for e in receiver.named("new_message")]
        assert got == seqs  # every one, once, in number order
    after = counter((await http.get("/metrics")).text, "hubbub_direct_writes_total")
    assert after - before >= 25  # b1's frames at least went straight to its transport


async def test_logout_disconnects_that_sessions_sockets(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    other_session = await login(http, a)
    a1: Client = await connect(a)
    a2: Client = await connect(other_session)
    a3: Client = await connect(other_session, transports=["polling"])
    b1: Client = await connect(b)
    r = await http.post("/auth/logout", headers=other_session.headers, json={})
    assert r.status_code == 200, r.text
    await a2.wait_disconnected()
    await a3.wait_disconnected()
    assert not a1.disconnected
    message = await a1.send(cid, "still here")
    assert (await b1.wait_for("new_message"))["message"] == message
    again: Client = await connect(other_session)
    assert again.connect_error == {"message": "unauthorized"}


# Bad input -----------------------------------------------------------------------------


EVENTS = [
    "send_message",
    "join_conversation",
    "leave_conversation",
    "typing",
    "stop_typing",
    "mark_as_read",
    "mark_as_delivered",
    "sync",
    "get_presence",
]


async def test_garbage_payloads_get_invalid_payload(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    for event in EVENTS:
        for payload in (None, "text", 42, [cid], True, {}):
            ack = await a1.call(event, payload)
            assert ack["ok"] is False, (event, payload)
            assert ack["error"]["code"] == "invalid_payload", (event, payload, ack)
    wrong: list[tuple[str, Any]] = [
        ("typing", {"conversationId": 42}),
        ("typing", {"conversationId": "not-a-uuid"}),
        ("join_conversation", {"conversationId": None}),
        ("mark_as_read", {"conversationId": cid}),
        ("mark_as_read", {"conversationId": cid, "messageId": "x"}),
        ("sync", {"conversations": {cid: "10"}}),
        ("sync", {"conversations": {cid: -1}}),
        ("sync", {"conversations": {"nope": 1}}),
        ("sync", {"conversations": {}, "limit": 0}),
        ("sync", {"conversations": {}, "limit": 10**30}),
        ("get_presence", {"userIds": []}),
        ("get_presence", {"userIds": "all"}),
        ("send_message", {"conversationId": cid, "content": "x"}),  # no optimisticId
        ("send_message", {"conversationId": cid, "content": 5, "optimisticId": "o"}),
        ("send_message", {"conversationId": cid, "content": "x", "optimisticId": "o" * 101}),
        ("send_message", {"conversationId": cid, "content": "x" * 20_000, "optimisticId": "o"}),
    ]
    for event, payload in wrong:
        ack = await a1.call(event, payload)
        assert ack["ok"] is False, (event, payload)
        assert ack["error"]["code"] == "invalid_payload", (event, payload, ack)
    # Without an ack: `exception` (or message_error for send_message).
    await a1.emit("typing", "garbage")
    exc = await a1.wait_for("exception")
    assert set(exc) == {"event", "code", "message"}
    assert (exc["event"], exc["code"]) == ("typing", "invalid_payload")
    await a1.emit("send_message", {"content": "where to?", "optimisticId": "no-content"})
    err = await a1.wait_for("message_error", lambda d: d["optimisticId"] == "no-content")
    assert err["success"] is False
    assert err["error"]["code"] == "invalid_payload"
    await a1.emit("no_such_event", {"x": 1})
    unknown = await a1.wait_for("exception", lambda d: d["code"] == "unknown_event")
    assert unknown["event"] == "no_such_event"
    ack = await a1.call("no_such_event", {})
    assert ack["error"]["code"] == "unknown_event"
    # Nothing was stored, nobody else heard anything, and the socket still works.
    await b1.barrier()
    assert [e for e, _ in chatter(b1, b) if e != "user_online"] == []
    assert await history(http, a, cid) == []
    message = await a1.send(cid, "fine")
    assert (await b1.wait_for("new_message"))["message"] == message


async def test_flood_and_oversize_do_not_hurt_anyone_else(
    http: httpx.AsyncClient, connect: Connect
) -> None:
    a, b, flooder = await register(http), await register(http), await register(http)
    cid = await group(http, a, b, flooder)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    f1: Client = await connect(flooder)
    for _ in range(400):
        await f1.emit("typing", {"conversationId": cid})
    await f1.wait_for("exception", lambda d: d["code"] == "rate_limited")
    limited = [d for d in f1.named("exception") if d["code"] == "rate_limited"]
    assert {d["event"] for d in limited} == {"typing"}
    # Others are served meanwhile; the flood made one typing event, not 400.
    message = await a1.send(cid, "still served")
    assert (await b1.wait_for("new_message"))["message"] == message
    await b1.barrier()
    assert len([d for d in b1.named("typing") if d["userId"] == flooder.id]) == 1
    # A Socket.IO message over max_socket_message_bytes (64 KiB) is refused: the
    # socket is closed and nothing is stored.
    big: Client = await connect(flooder)
    await big.emit(
        "send_message", {"conversationId": cid, "content": "x" * 70_000, "optimisticId": "big"}
    )
    await big.wait_disconnected()
    assert big.named("message_sent") == []
    assert [m["content"] for m in await history(http, a, cid)] == ["still served"]
    second = await a1.send(cid, "and after")
    assert (await b1.wait_for("new_message", count=2))["message"] == second


async def test_send_rate_limit(server: Server, tmp_path: Path) -> None:
    """A dedicated server with a burst of 3 sends and a slow refill."""
    async with server_with(
        server, tmp_path, {"HUBBUB_SEND_BURST": "3", "HUBBUB_SEND_RATE_PER_S": "0.2"}
    ) as (h, conn):
        a, b = await register(h), await register(h)
        cid = await group(h, a, b)
        a1: Client = await conn(a)
        b1: Client = await conn(b)
        for n in range(3):
            await a1.send(cid, f"m{n}")
        ack = await a1.call(
            "send_message", {"conversationId": cid, "content": "m3", "optimisticId": "m3"}
        )
        assert ack["ok"] is False
        assert ack["error"]["code"] == "rate_limited"
        assert isinstance(ack["error"]["retryAfter"], int)
        assert ack["error"]["retryAfter"] >= 1
        err = await a1.wait_for("message_error")
        assert err == {"optimisticId": "m3", "success": False, "error": ack["error"]}
        # The limit is per user: over HTTP too, with Retry-After.
        r = await h.post(
            f"/conversations/{cid}/messages", headers=a.headers, json={"content": "m4"}
        )
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        # Another user is not limited by it.
        await b1.send(cid, "b is fine")
        await b1.barrier()
        assert len(b1.named("new_message")) == 3
        contents = [m["content"] for m in await history(h, b, cid)]
        assert contents == ["m0", "m1", "m2", "b is fine"]


async def test_socket_event_limit_answers_every_send(server: Server, tmp_path: Path) -> None:
    """A send over the per-socket event limit, sent without an ack, still gets its
    message_error (a client waiting on its optimisticId must not wait forever)."""
    async with server_with(
        server,
        tmp_path,
        {"HUBBUB_SOCKET_EVENT_BURST": "2", "HUBBUB_SOCKET_EVENT_RATE_PER_S": "0.1"},
    ) as (h, conn):
        a, b = await register(h), await register(h)
        cid = await group(h, a, b)
        a1: Client = await conn(a)
        for n in range(3):
            await a1.emit(
                "send_message",
                {"conversationId": cid, "content": f"m{n}", "optimisticId": f"m{n}"},
            )
        err = await a1.wait_for("message_error")
        assert err["optimisticId"] == "m2"
        assert err["success"] is False
        assert err["error"]["code"] == "rate_limited"
        assert isinstance(err["error"]["retryAfter"], int)
        assert err["error"]["retryAfter"] >= 1
        await a1.wait_for("message_sent", count=2)
        assert sorted(d["optimisticId"] for d in a1.named("message_sent")) == ["m0", "m1"]
        # Events without an ack get an `exception` instead.
        await a1.emit("typing", {"conversationId": cid})
        exc = await a1.wait_for("exception")
        assert exc["event"] == "typing"
        assert exc["code"] == "rate_limited"
        contents = [m["content"] for m in await history(h, b, cid)]
        assert contents == ["m0", "m1"]

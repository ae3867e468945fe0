"""The admin HTTP API: who may use it (only active server administrators; everyone else
gets 404, as if nothing were there), accounts, sessions, statistics and the audit log.

Over HTTP on an in-process node, against the real database of the run.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from hubbub.app import Node
from tests.chat import create_group, create_private, send
from tests.conftest import Account, RegisterFn, assert_error, count_rows
from tests.test_files import upload_ok

MISSING = "00000000-0000-7000-8000-000000000000"

# Every /admin endpoint: (method, path with {id} for the target).
ENDPOINTS = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{id}"),
    ("GET", "/admin/users/{id}/sessions"),
    ("POST", "/admin/users/{id}/logout-all"),
    ("POST", "/admin/users/{id}/deactivate"),
    ("POST", "/admin/users/{id}/reactivate"),
    ("POST", "/admin/users/{id}/reset-link"),
    ("GET", "/admin/stats"),
    ("GET", "/admin/audit"),
]


async def _make_admin(node: Node, who: Account) -> None:
    await node.services.admin.set_admin_by_username(who.username, admin=True)


async def _login(client: httpx.AsyncClient, who: Account) -> httpx.Response:
    return await client.post("/auth/login", json={"email": who.username, "password": who.password})


async def _call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> httpx.Response:
    return await client.request(method, path, headers=headers, **kw)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize("caller", ["plain user", "anonymous", "bad token", "deactivated admin"])
async def test_everyone_but_an_active_administrator_finds_nothing_at_admin(
    client: httpx.AsyncClient,
    node: Node,
    register: RegisterFn,
    endpoint: tuple[str, str],
    caller: str,
) -> None:
    method, path = endpoint
    boss, ann, ben = await register("boss"), await register("ann"), await register("ben")
    await _make_admin(node, boss)
    audit_before = await count_rows(node, "admin_audit")
    headers = {
        "plain user": ann.headers,
        "anonymous": {},
        "bad token": {"Authorization": "Bearer not-a-token"},
        "deactivated admin": ann.headers,
    }[caller]
    if caller == "deactivated admin":
        await _make_admin(node, ann)
        ann_session = await _login(client, ann)
        headers = {"Authorization": f"Bearer {ann_session.json()['token']}"}
        await node.services.admin.set_active_by_username("ann", active=False)
        audit_before = await count_rows(node, "admin_audit")
    refused = await _call(client, method, path.format(id=ben.id), headers)
    assert_error(refused, 404, "not_found")
    # The same answer as for a path that does not exist at all.
    assert (await client.get("/admin/nothing-here", headers=headers)).json() == refused.json()
    # Nothing changed: Ben still signs in with his sessions, nothing was recorded.
    assert (await client.get("/users/me", headers=ben.headers)).status_code == 200
    assert await count_rows(node, "admin_audit") == audit_before
    # An administrator is let in.
    allowed = await _call(client, method, path.format(id=ben.id), boss.headers)
    assert allowed.status_code == 200, allowed.text


async def test_an_administrator_sees_nothing_of_conversations_they_are_not_in(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ann, ben = await register("boss"), await register("ann"), await register("ben")
    await _make_admin(node, boss)
    group = await create_group(client, ann, ben, name="private plans")
    private = await create_private(client, ann, ben)
    said = await send(client, ann, group, "the secret word is quartz")
    await send(client, ben, private, "quartz again")
    for cid in (group, private):
        for path in (
            f"/conversations/{cid}",
            f"/conversations/{cid}/messages",
            f"/conversations/{cid}/messages/{said['id']}",
            f"/conversations/{cid}/messages/{said['id']}/thread",
            f"/conversations/{cid}/changes?since=0",
        ):
            assert_error(await client.get(path, headers=boss.headers), 404)
        joined = await client.post(
            f"/conversations/{cid}/participants",
            headers=boss.headers,
            json={"userIds": [str(boss.id)]},
        )
        assert joined.status_code == 404, joined.text
    found = await client.get("/search/messages", params={"q": "quartz"}, headers=boss.headers)
    assert found.status_code == 200, found.text
    assert found.json()["messages"] == []
    listed = await client.get("/conversations", headers=boss.headers)
    assert listed.json()["conversations"] == []
    # The administration shows counts, never a message.
    for path in ("/admin/stats", f"/admin/users/{ann.id}", "/admin/audit"):
        shown = await client.get(path, headers=boss.headers)
        assert shown.status_code == 200, shown.text
        assert "quartz" not in shown.text


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if "{id}" in e[1]])
async def test_an_unknown_or_malformed_user_id_is_404_and_changes_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, method: str, path: str
) -> None:
    boss = await register("boss")
    await _make_admin(node, boss)
    audit_before = await count_rows(node, "admin_audit")
    for bad in (MISSING, "not-an-id", "1"):
        assert_error(await _call(client, method, path.format(id=bad), boss.headers), 404)
    assert await count_rows(node, "admin_audit") == audit_before


async def test_the_user_list_searches_pages_and_shows_every_account(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss = await register("boss")
    await _make_admin(node, boss)
    names = [f"zed_{i:02d}" for i in range(7)]
    made = {name: await register(name) for name in names}
    await node.services.admin.set_active_by_username("zed_03", active=False)
    gone = await register("leaver", password="correct horse battery")
    deleted = await client.request(
        "DELETE", "/users/me", headers=gone.headers, json={"password": gone.password}
    )
    assert deleted.status_code in (200, 204), deleted.text

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"q": "ZED_", "limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = await client.get("/admin/users", params=params, headers=boss.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["users"]) <= 3
        seen += body["users"]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert [u["username"] for u in seen] == names
    by_name = {u["username"]: u for u in seen}
    assert by_name["zed_03"]["isActive"] is False
    assert by_name["zed_00"] == {
        "id": str(made["zed_00"].id),
        "username": "zed_00",
        "displayName": None,
        "email": "zed_00@example.com",
        "isActive": True,
        "isAdmin": False,
        "isDeleted": False,
        "createdAt": by_name["zed_00"]["createdAt"],
        "lastSeenAt": by_name["zed_00"]["lastSeenAt"],
        "isBot": False,
        "botOwnerId": None,
    }
    # By email too; and a deleted account is listed, flagged.
    by_email = await client.get("/admin/users", params={"q": "zed_05@exa"}, headers=boss.headers)
    assert [u["username"] for u in by_email.json()["users"]] == ["zed_05"]
    everyone = await client.get("/admin/users", params={"limit": 200}, headers=boss.headers)
    flags = {u["id"]: u for u in everyone.json()["users"]}
    assert flags[str(gone.id)]["isDeleted"] is True
    assert flags[str(boss.id)]["isAdmin"] is True
    # A wildcard in the search is a character, not a pattern.
    literal = await client.get("/admin/users", params={"q": "%"}, headers=boss.headers)
    assert literal.json()["users"] == []

    shown = await client.get(f"/admin/users/{made['zed_03'].id}", headers=boss.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["user"]["username"] == "zed_03"
    assert shown.json()["user"]["isActive"] is False


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit"])
@pytest.mark.parametrize(
    "params",
    [
        ({"cursor": "not a cursor"}, 400, "invalid_cursor"),
        ({"cursor": "AAAA"}, 400, "invalid_cursor"),
        ({"cursor": ""}, 400, "invalid_cursor"),
        ({"cursor": "x" * 300}, 422, "validation_error"),
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 201}, 422, "validation_error"),
        ({"limit": "many"}, 422, "validation_error"),
    ],
)
async def test_a_bad_cursor_or_limit_is_a_clear_4xx(
    client: httpx.AsyncClient,
    node: Node,
    register: RegisterFn,
    path: str,
    params: tuple[dict[str, Any], int, str],
) -> None:
    query, status, code = params
    boss = await register("boss")
    await _make_admin(node, boss)
    bad = await client.get(path, params=query, headers=boss.headers)
    assert_error(bad, status, code)


async def test_sessions_are_listed_and_all_of_them_ended(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ben = await register("boss"), await register("ben")
    await _make_admin(node, boss)
    second = await client.post(
        "/auth/login",
        json={"email": "ben", "password": ben.password},
        headers={"User-Agent": "ben's phone"},
    )
    assert second.status_code == 200, second.text
    listed = await client.get(f"/admin/users/{ben.id}/sessions", headers=boss.headers)
    assert listed.status_code == 200, listed.text
    sessions = listed.json()["sessions"]
    assert len(sessions) == 2
    assert sessions[0]["userAgent"] == "ben's phone"
    assert sessions[0]["address"] == "203.0.113.7"
    assert not any(s["current"] for s in sessions)

    ended = await client.post(f"/admin/users/{ben.id}/logout-all", headers=boss.headers)
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"ended": 2}
    for token in (ben.token, second.json()["token"]):
        gone = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refreshToken": ben.refresh_token})
    assert refreshed.status_code == 401
    after = await client.get(f"/admin/users/{ben.id}/sessions", headers=boss.headers)
    assert after.json()["sessions"] == []
    # The account itself is untouched: Ben signs in again; the admin's own session stays.
    assert (await _login(client, ben)).status_code == 200
    assert (await client.get("/users/me", headers=boss.headers)).status_code == 200


async def test_statistics_count_users_conversations_messages_and_storage(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ann = await register("boss"), await register("ann")
    await register("ben")
    await _make_admin(node, boss)
    await node.services.admin.set_active_by_username("ben", active=False)
    made = await client.post(
        "/conversations",
        headers=ann.headers,
        json={"type": "GROUP", "name": "team", "participantIds": [str(boss.id)]},
    )
    assert made.status_code == 201, made.text
    cid = made.json()["conversation"]["id"]
    for text in ("one", "two", "three"):
        sent = await client.post(
            f"/conversations/{cid}/messages", headers=ann.headers, json={"content": text}
        )
        assert sent.status_code == 201, sent.text
    await upload_ok(client, ann, b"x" * 1234)

    stats = await client.get("/admin/stats", headers=boss.headers)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["users"] == {"total": 3, "active": 2, "deactivated": 1, "activeLastDay": 3}
    assert body["conversations"] == 1
    days = body["messagesPerDay"]
    assert len(days) == 14
    assert days == sorted(days, key=lambda d: d["day"])
    assert sum(d["messages"] for d in days) == days[-1]["messages"] >= 3
    assert body["storage"] == {"files": 1, "bytes": 1234}


async def test_every_admin_action_is_in_the_audit_log_newest_first(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ben = await register("boss"), await register("ben")
    await _make_admin(node, boss)  # the terminal's
    for path in ("deactivate", "reactivate", "reset-link", "logout-all"):
        done = await client.post(f"/admin/users/{ben.id}/{path}", headers=boss.headers)
        assert done.status_code == 200, done.text
    # A refused action records nothing.
    own = await client.post(f"/admin/users/{boss.id}/deactivate", headers=boss.headers)
    assert_error(own, 403, "own_account")

    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/admin/audit", params=params, headers=boss.headers)
        assert page.status_code == 200, page.text
        entries += page.json()["entries"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert [e["action"] for e in entries] == [
        "logout_all",
        "reset_link",
        "reactivate",
        "deactivate",
        "promote",
    ]
    newest = entries[0]
    assert newest["actorId"] == str(boss.id)
    assert newest["actorName"] == "boss"
    assert newest["targetId"] == str(ben.id)
    assert newest["targetName"] == "ben"
    assert newest["address"] == "203.0.113.7"
    assert newest["details"] == {"ended": 0}
    assert uuid.UUID(newest["id"])
    first = entries[-1]
    assert (first["actorId"], first["actorName"], first["address"]) == (None, "the terminal", None)
    assert first["targetName"] == "boss"


async def test_the_admin_endpoints_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for method, path in ENDPOINTS:
        operation = spec["paths"][path.replace("{id}", "{user_id}")][method.lower()]
        assert "200" in operation["responses"], path
        assert "$ref" in str(operation["responses"]["200"]), path

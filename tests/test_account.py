"""A user's own account: password, email and sessions.

Over HTTP on an in-process node: each endpoint with good and bad input (a refusal
changes nothing). Over real sockets on `hubbub serve` (two nodes on the PostgreSQL run):
a password change cuts the live sockets of every other session of the user, on every
node, and keeps the caller's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Account, Backend, RegisterFn, assert_error
from tests.gw import Client, Server, clients, group, login, own_database, register, start_server
from tests.test_admin import _cli

NEW_PASSWORD = "a brand new passphrase"


async def _login(
    client: httpx.AsyncClient, who: Account, password: str, agent: str = "test-client/1"
) -> httpx.Response:
    return await client.post(
        "/auth/login",
        json={"email": who.username, "password": password},
        headers={"User-Agent": agent},
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _second_session(client: httpx.AsyncClient, who: Account, agent: str) -> dict[str, str]:
    done = await _login(client, who, who.password, agent)
    assert done.status_code == 200, done.text
    body: dict[str, str] = done.json()
    return body


# Password --------------------------------------------------------------------------------


async def test_a_wrong_or_weak_password_change_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    other = await _second_session(client, ann, "phone/1")

    wrong = await client.post(
        "/users/me/password",
        json={"currentPassword": "not my password", "newPassword": NEW_PASSWORD},
        headers=ann.headers,
    )
    assert_error(wrong, 403, "wrong_password")
    weak = await client.post(
        "/users/me/password",
        json={"currentPassword": ann.password, "newPassword": "short"},
        headers=ann.headers,
    )
    assert_error(weak, 422, "validation_error")
    unknown_field = await client.post(
        "/users/me/password",
        json={"currentPassword": ann.password, "newPassword": NEW_PASSWORD, "x": 1},
        headers=ann.headers,
    )
    assert_error(unknown_field, 422)
    anonymous = await client.post(
        "/users/me/password",
        json={"currentPassword": ann.password, "newPassword": NEW_PASSWORD},
    )
    assert_error(anonymous, 401)

    # Nothing changed: the old password signs in, the other session goes on.
    assert (await _login(client, ann, ann.password)).status_code == 200
    assert (await _login(client, ann, NEW_PASSWORD)).status_code == 401
    assert (await client.get("/users/me", headers=_bearer(other["token"]))).status_code == 200


async def test_a_password_change_ends_every_other_session_and_keeps_the_callers(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    other = await _second_session(client, ann, "phone/1")
    third = await _second_session(client, ann, "tablet/1")

    done = await client.post(
        "/users/me/password",
        json={"currentPassword": ann.password, "newPassword": NEW_PASSWORD},
        headers=ann.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"ended": 2}

    assert (await client.get("/users/me", headers=ann.headers)).status_code == 200
    for ended in (other, third):
        assert_error(await client.get("/users/me", headers=_bearer(ended["token"])), 401)
        refreshed = await client.post("/auth/refresh", json={"refreshToken": ended["refreshToken"]})
        assert_error(refreshed, 401)
    kept = await client.post("/auth/refresh", json={"refreshToken": ann.refresh_token})
    assert kept.status_code == 200, kept.text
    assert_error(await _login(client, ann, ann.password), 401, "invalid_credentials")
    assert (await _login(client, ann, NEW_PASSWORD)).status_code == 200
    # Another user's sessions are not touched.
    assert (await client.get("/users/me", headers=ben.headers)).status_code == 200


async def test_wrong_current_passwords_count_as_failed_logins(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    # HUBBUB_LOGIN_MAX_FAILURES (5) for one name from one address.
    for _ in range(5):
        wrong = await client.post(
            "/users/me/password",
            json={"currentPassword": "not my password", "newPassword": NEW_PASSWORD},
            headers=ann.headers,
        )
        assert_error(wrong, 403, "wrong_password")
    # The next try, with the right password, waits like a login after as many failures.
    locked = await _login(client, ann, ann.password)
    assert_error(locked, 429, "rate_limited")
    assert (await client.get("/users/me", headers=ann.headers)).status_code == 200


# Email -----------------------------------------------------------------------------------


async def test_change_email_needs_the_password_and_a_free_address(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, _ben = await register("ann"), await register("ben")

    async def change(body: dict[str, object]) -> httpx.Response:
        return await client.post("/users/me/email", json=body, headers=ann.headers)

    assert_error(
        await change({"password": "not my password", "email": "new@example.com"}),
        403,
        "wrong_password",
    )
    assert_error(await change({"password": ann.password, "email": "BEN@example.com"}), 409)
    assert (await change({"password": ann.password, "email": "BEN@example.com"})).json()[
        "code"
    ] == "email_taken"
    assert_error(await change({"password": ann.password, "email": "not an address"}), 422)
    assert_error(await change({"password": ann.password}), 422)
    me = await client.get("/users/me", headers=ann.headers)
    assert me.json()["user"]["email"] == "ann@example.com"  # nothing changed

    done = await change({"password": ann.password, "email": "Ann.New@Example.com"})
    assert done.status_code == 200, done.text
    assert done.json()["user"]["email"] == "ann.new@example.com"
    by_new = await client.post(
        "/auth/login", json={"email": "ann.new@example.com", "password": ann.password}
    )
    assert by_new.status_code == 200, by_new.text
    by_old = await client.post(
        "/auth/login", json={"email": "ann@example.com", "password": ann.password}
    )
    assert_error(by_old, 401)
    # The old address is free again.
    again = await client.post(
        "/auth/register",
        json={"username": "cid", "email": "ann@example.com", "password": "correct horse b"},
    )
    assert again.status_code == 201, again.text


# Sessions --------------------------------------------------------------------------------


async def test_my_sessions_say_where_and_when_and_which_is_mine(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    phone = await _second_session(client, ann, "phone/1")

    listed = await client.get("/users/me/sessions", headers=ann.headers)
    assert listed.status_code == 200, listed.text
    sessions = listed.json()["sessions"]
    assert len(sessions) == 2
    mine = [s for s in sessions if s["current"]]
    assert len(mine) == 1
    (other,) = [s for s in sessions if not s["current"]]
    assert other["userAgent"] == "phone/1"
    assert other["address"] == "203.0.113.7"
    assert set(other) == {"id", "userAgent", "address", "createdAt", "lastUsedAt", "current"}
    first_used = other["lastUsedAt"]

    # A refresh is a use: the session keeps its id and start, and tells the new agent.
    refreshed = await client.post(
        "/auth/refresh",
        json={"refreshToken": phone["refreshToken"]},
        headers={"User-Agent": "phone/2"},
    )
    assert refreshed.status_code == 200, refreshed.text
    after = await client.get("/users/me/sessions", headers=ann.headers)
    (again,) = [s for s in after.json()["sessions"] if s["id"] == other["id"]]
    assert again["userAgent"] == "phone/2"
    assert again["createdAt"] == other["createdAt"]
    assert again["lastUsedAt"] >= first_used
    assert len(after.json()["sessions"]) == 2


async def test_end_one_of_my_sessions_but_never_someone_elses(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    phone = await _second_session(client, ann, "phone/1")
    sessions = (await client.get("/users/me/sessions", headers=ann.headers)).json()["sessions"]
    (phone_session,) = [s["id"] for s in sessions if not s["current"]]
    (bens,) = (await client.get("/users/me/sessions", headers=ben.headers)).json()["sessions"]

    theirs = await client.delete(f"/users/me/sessions/{bens['id']}", headers=ann.headers)
    assert_error(theirs, 404, "session_not_found")
    unknown = await client.delete(f"/users/me/sessions/{uuid.uuid4()}", headers=ann.headers)
    assert_error(unknown, 404, "session_not_found")
    assert_error(await client.delete("/users/me/sessions/nope", headers=ann.headers), 404)
    assert (await client.get("/users/me", headers=ben.headers)).status_code == 200

    done = await client.delete(f"/users/me/sessions/{phone_session}", headers=ann.headers)
    assert done.status_code == 200, done.text
    assert_error(await client.get("/users/me", headers=_bearer(phone["token"])), 401)
    assert (await client.get("/users/me", headers=ann.headers)).status_code == 200
    left = (await client.get("/users/me/sessions", headers=ann.headers)).json()["sessions"]
    assert [s["current"] for s in left] == [True]
    # Ended once is ended: a second time names nothing.
    twice = await client.delete(f"/users/me/sessions/{phone_session}", headers=ann.headers)
    assert_error(twice, 404, "session_not_found")


async def test_log_out_everywhere_else(client: httpx.AsyncClient, register: RegisterFn) -> None:
    ann, ben = await register("ann"), await register("ben")
    others = [await _second_session(client, ann, f"device/{n}") for n in range(3)]
    assert_error(await client.post("/users/me/sessions/logout-others"), 401)

    done = await client.post("/users/me/sessions/logout-others", headers=ann.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"ended": 3}
    for other in others:
        assert_error(await client.get("/users/me", headers=_bearer(other["token"])), 401)
    assert (await client.get("/users/me", headers=ann.headers)).status_code == 200
    assert (await client.get("/users/me", headers=ben.headers)).status_code == 200
    again = await client.post("/users/me/sessions/logout-others", headers=ann.headers)
    assert again.json() == {"ended": 0}


# Over real sockets -----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def nodes(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[Server]]:
    directory = tmp_path_factory.mktemp("account")
    async with own_database(backend, directory) as env:
        started: list[Server] = []
        try:
            for name in ("n1", "n2") if backend.is_postgres else ("n1",):
                started.append(start_server(directory / name, env))
            yield started
        finally:
            for s in started:
                s.stop()


@pytest.mark.parametrize("how", ["password change", "log out others", "end one session"])
async def test_other_sessions_sockets_are_cut_on_every_node(nodes: list[Server], how: str) -> None:
    first, last = nodes[0], nodes[-1]
    async with (
        httpx.AsyncClient(base_url=first.base, timeout=10) as http,
        clients(first.base) as on_first,
        clients(last.base) as on_last,
    ):
        ann, ben = await register(http), await register(http)
        cid = await group(http, ann, ben)
        phone = await login(http, ann)
        mine = await on_first(ann)
        cut = [await on_first(phone), await on_last(phone)]

        if how == "password change":
            done = await http.post(
                "/users/me/password",
                json={"currentPassword": ann.password, "newPassword": NEW_PASSWORD},
                headers=ann.headers,
            )
        elif how == "log out others":
            done = await http.post("/users/me/sessions/logout-others", headers=ann.headers)
        else:
            listed = await http.get("/users/me/sessions", headers=ann.headers)
            (sid,) = [s["id"] for s in listed.json()["sessions"] if not s["current"]]
            done = await http.delete(f"/users/me/sessions/{sid}", headers=ann.headers)
        assert done.status_code == 200, done.text

        for s in cut:
            await s.wait_disconnected(within=10)
        again = Client(last.base)
        assert await again.connect(auth={"token": phone.token, "userId": phone.id}) is False
        # The caller's own socket stays, and works.
        assert not mine.disconnected
        sent = await mine.send(cid, "still here")
        assert sent["content"] == "still here"


async def test_the_account_endpoints_are_in_openapi_with_their_bodies(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    bodies = {
        ("/users/me/password", "post"): "ChangePasswordRequest",
        ("/users/me/email", "post"): "ChangeEmailRequest",
        ("/users/me", "delete"): "DeleteAccountRequest",
        ("/auth/password-reset", "post"): "PasswordResetRequest",
        ("/auth/password-reset/confirm", "post"): "PasswordResetConfirm",
    }
    for (path, method), model in bodies.items():
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(model), (path, schema)
    for path, method in (
        ("/users/me/sessions", "get"),
        ("/users/me/sessions/{session_id}", "delete"),
        ("/users/me/sessions/logout-others", "post"),
        ("/users/me/export", "post"),
        ("/users/me/export", "get"),
        ("/users/me/export/{export_id}", "get"),
        ("/admin/users/{user_id}/reset-link", "post"),
    ):
        assert method in paths[path], (path, method)
    assert "SessionList" in spec["components"]["schemas"]
    assert "ResetLink" in spec["components"]["schemas"]


async def test_a_password_reset_from_a_terminal_link_cuts_every_socket_of_the_account(
    nodes: list[Server],
) -> None:
    first, last = nodes[0], nodes[-1]
    async with (
        httpx.AsyncClient(base_url=first.base, timeout=10) as http,
        clients(first.base) as on_first,
        clients(last.base) as on_last,
    ):
        ann = await register(http)
        phone = await login(http, ann)
        cut = [await on_first(ann), await on_last(phone)]

        printed = await asyncio.to_thread(_cli, first, "reset-link", "--username", ann.username)
        token = printed.splitlines()[0].rsplit("token=", 1)[1]
        done = await http.post(
            "/auth/password-reset/confirm", json={"token": token, "newPassword": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        for s in cut:
            await s.wait_disconnected(within=10)
        signed_in = await http.post(
            "/auth/login", json={"email": ann.username, "password": NEW_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text

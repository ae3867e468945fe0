"""Auth over HTTP: register, login, refresh, logout, token checks (docs/http-api.md, Auth)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from hubbub.app import Node
from hubbub.store.models import User
from tests.chat import Recorder
from tests.conftest import JWT_SECRET, Account, RegisterFn, assert_error, count_rows

ME = "/users/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Register -----------------------------------------------------------------------------


async def test_register_returns_me_and_working_tokens(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={
            "username": "Alice.B-1",
            "email": "Alice@Example.com",
            "password": "correct horse",
            "displayName": "Alice B",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user", "token", "refreshToken"}
    user = body["user"]
    assert set(user) == {
        "id",
        "username",
        "displayName",
        "avatar",
        "bio",
        "isOnline",
        "lastSeen",
        "createdAt",
        "isBot",
        "email",
        "updatedAt",
    }
    assert user["isBot"] is False
    assert user["username"] == "Alice.B-1"
    assert user["email"] == "alice@example.com"
    assert user["displayName"] == "Alice B"
    assert user["createdAt"].endswith("Z")
    assert len(user["createdAt"]) == 24
    uuid.UUID(user["id"])
    me = await client.get(ME, headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["user"]["id"] == user["id"]


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (("alice", "alice@example.com"), ("ALICE", "other@example.com"), "username_taken"),
        (("alice", "alice@example.com"), ("bob", "ALICE@EXAMPLE.COM"), "email_taken"),
    ],
)
async def test_duplicate_username_or_email_is_409_case_insensitive(
    client: httpx.AsyncClient,
    node: Node,
    first: tuple[str, str],
    second: tuple[str, str],
    code: str,
) -> None:
    ok = await client.post(
        "/auth/register",
        json={"username": first[0], "email": first[1], "password": "password123"},
    )
    assert ok.status_code == 201
    dup = await client.post(
        "/auth/register",
        json={"username": second[0], "email": second[1], "password": "password123"},
    )
    assert_error(dup, 409, code)
    assert await count_rows(node, "users") == 1


async def test_concurrent_identical_registrations_store_one_user(
    client: httpx.AsyncClient, node: Node
) -> None:
    payload = {"username": "racer", "email": "racer@example.com", "password": "password123"}
    responses = await asyncio.gather(
        *(client.post("/auth/register", json=payload) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409]
    assert await count_rows(node, "users") == 1


VALID = {"username": "valid_user", "email": "valid@example.com", "password": "password123"}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"password": "pass\u0000word123"}, "password"),
        ({"username": "ab"}, "username"),
        ({"username": "u" * 51}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "nul\u0000user"}, "username"),
        ({"username": 12345}, "username"),
        ({"password": 12345678}, "password"),
        ({"displayName": "d" * 101}, "displayName"),
        ({"displayName": "bad\u0000name"}, "displayName"),
        ({"displayName": "\ud800lone"}, "displayName"),
        ({"email": "e" * 250 + "@example.com"}, "email"),
        ({"role": "admin"}, "role"),
    ],
)
async def test_register_rejects_bad_fields_with_422_and_stores_nothing(
    client: httpx.AsyncClient, node: Node, patch: dict[str, Any], field: str
) -> None:
    body = {**VALID, **patch}
    raw = json.dumps(body).encode()  # json.dumps keeps lone surrogates as \ud800 escapes
    response = await client.post(
        "/auth/register", content=raw, headers={"content-type": "application/json"}
    )
    error = assert_error(response, 422, "validation_error")
    assert error["message"].startswith(field)
    assert await count_rows(node, "users") == 0


@pytest.mark.parametrize("missing", ["username", "email", "password"])
async def test_register_missing_field_is_422(
    client: httpx.AsyncClient, node: Node, missing: str
) -> None:
    body = {k: v for k, v in VALID.items() if k != missing}
    error = assert_error(await client.post("/auth/register", json=body), 422)
    assert missing in error["message"]
    assert await count_rows(node, "users") == 0


async def test_malformed_json_is_400_and_non_object_is_422(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/auth/register", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    assert_error(bad, 400, "invalid_json")
    assert_error(await client.post("/auth/register", json=["a", "b"]), 422)
    assert_error(await client.post("/auth/register", json="text"), 422)


async def test_oversized_body_is_413(client: httpx.AsyncClient, node: Node) -> None:
    huge = {**VALID, "displayName": "x" * (2 * 1024 * 1024)}
    assert_error(await client.post("/auth/register", json=huge), 413, "payload_too_large")
    assert await count_rows(node, "users") == 0


# Login --------------------------------------------------------------------------------


async def test_login_by_email_or_username_any_case(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register("Carol")
    for identifier in ("carol@example.com", "CAROL@example.com", "Carol", "carol"):
        response = await client.post(
            "/auth/login", json={"email": identifier, "password": acct.password}
        )
        assert response.status_code == 200, identifier
        body = response.json()
        assert body["user"]["id"] == str(acct.id)
        assert body["user"]["email"] == "carol@example.com"
        assert (await client.get(ME, headers=bearer(body["token"]))).status_code == 200


async def test_wrong_password_and_unknown_email_answer_identically(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    await register("dave")
    wrong = await client.post(
        "/auth/login", json={"email": "dave@example.com", "password": "not the password"}
    )
    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "not the password"}
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert wrong.status_code == unknown.status_code
    assert wrong.json() == unknown.json()
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")


async def test_deactivated_account_cannot_log_in_or_use_tokens(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    acct = await register("erin")
    async with node.services.db.write() as session:
        await session.execute(update(User).where(User.id == acct.id).values(is_active=False))
    assert_error(await client.get(ME, headers=acct.headers), 401)
    login = await client.post("/auth/login", json={"email": "erin", "password": acct.password})
    assert_error(login, 403, "account_deactivated")
    # Without the password, the answer of any wrong login: nothing is revealed.
    guess = await client.post("/auth/login", json={"email": "erin", "password": "wrong-guess"})
    assert_error(guess, 401, "invalid_credentials")


def from_address(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """A client of the same node whose requests come from another address."""
    app = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def login_as(client: httpx.AsyncClient, identifier: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": identifier, "password": password})


async def test_login_limit_reveals_no_email(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    """Failures are counted by the name as typed: locking a username says nothing about
    which email belongs to it (the account's own email and an unknown one answer alike)."""
    acct = await register("frank")
    for _ in range(5):
        assert_error(await login_as(client, "frank", "wrong-guess"), 401, "invalid_credentials")
    limited = await login_as(client, "  FRANK ", acct.password)  # the same name, normalised
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    own_email = await login_as(client, "frank@example.com", "wrong-guess")
    unknown_email = await login_as(client, "someone-else@example.com", "wrong-guess")
    assert_error(own_email, 401, "invalid_credentials")
    assert own_email.status_code == unknown_email.status_code
    assert own_email.json() == unknown_email.json()


async def test_a_stranger_cannot_lock_a_user_out(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register("heidi")
    # A stranger guesses from one address until that address is refused outright.
    async with from_address(client, "198.51.100.66") as stranger:
        for _ in range(5):
            assert_error(await login_as(stranger, "heidi", "guess"), 401, "invalid_credentials")
        for i in range(15):
            assert_error(await login_as(stranger, f"heidi@example.com{i}", "guess"), 401)
        assert_error(await login_as(stranger, "heidi", acct.password), 429, "rate_limited")
        assert_error(await login_as(stranger, "heidi@example.com", acct.password), 429)
    # The user, from their own address, signs in by either name.
    assert (await login_as(client, "heidi", acct.password)).status_code == 200
    assert (await login_as(client, "heidi@example.com", acct.password)).status_code == 200


async def test_guessing_from_many_addresses_is_slowed_per_name(
    client: httpx.AsyncClient, register: RegisterFn, node: Node
) -> None:
    """The slower limit per name across addresses; it is set above what one address may
    fail for one name, so that no single address can reach it."""
    limits = node.services.settings
    assert limits.login_max_failures_per_identifier > limits.login_max_failures
    acct = await register("ivan")
    per_name = limits.login_max_failures_per_identifier
    tried = 0
    for a in range(per_name // 5 + 1):
        async with from_address(client, f"198.51.100.{a + 1}") as guesser:
            for _ in range(min(5, per_name - tried)):
                assert_error(await login_as(guesser, "ivan", "guess"), 401)
                tried += 1
    assert_error(await login_as(client, "ivan", acct.password), 429, "rate_limited")


async def test_login_rate_limited_per_address(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register("grace")
    for i in range(20):
        r = await client.post("/auth/login", json={"email": f"ghost{i}", "password": "wrong-guess"})
        assert_error(r, 401)
    limited = await client.post("/auth/login", json={"email": "grace", "password": acct.password})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    # Another address is not affected.
    other = httpx.ASGITransport(app=client._transport.app, client=("198.51.100.1", 1))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=other, base_url="http://testserver") as c2:
        ok = await c2.post("/auth/login", json={"email": "grace", "password": acct.password})
        assert ok.status_code == 200


async def test_login_bad_input(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/auth/login", json={"email": "x"}), 422)
    assert_error(await client.post("/auth/login", json={"email": 5, "password": "p"}), 422)
    assert_error(await client.post("/auth/login", json={"email": "a\u0000b", "password": "p"}), 422)
    assert_error(await client.post("/auth/login", json={"email": "a" * 300, "password": "p"}), 422)


# Tokens -------------------------------------------------------------------------------


def _claims(acct: Account) -> dict[str, Any]:
    return jwt.decode(acct.token, options={"verify_signature": False})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_missing_or_malformed_authorization_is_401(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(ME), 401, "missing_token")
    assert_error(await client.get(ME, headers={"Authorization": "Basic abc"}), 401)
    assert_error(await client.get(ME, headers=bearer("not-a-jwt")), 401, "invalid_token")


async def test_expired_token_is_401(client: httpx.AsyncClient, register: RegisterFn) -> None:
    acct = await register()
    claims = _claims(acct)
    past = datetime.now(UTC) - timedelta(hours=1)
    claims.update(iat=int(past.timestamp()), exp=int((past + timedelta(minutes=15)).timestamp()))
    expired = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert_error(await client.get(ME, headers=bearer(expired)), 401, "invalid_token")


async def test_forged_signature_is_401(client: httpx.AsyncClient, register: RegisterFn) -> None:
    victim = await register()
    attacker = await register()
    header, _, signature = attacker.token.split(".")
    forged = ".".join([header, _b64(_claims(victim)), signature])
    assert_error(await client.get(ME, headers=bearer(forged)), 401, "invalid_token")
    # Changing one character of a valid signature breaks it too.
    flipped = victim.token[:-2] + ("A" if victim.token[-2] != "A" else "B") + victim.token[-1]
    assert_error(await client.get(ME, headers=bearer(flipped)), 401, "invalid_token")


async def test_alg_none_is_401(client: httpx.AsyncClient, register: RegisterFn) -> None:
    acct = await register()
    unsigned = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(acct)) + "."
    assert_error(await client.get(ME, headers=bearer(unsigned)), 401, "invalid_token")


async def test_token_signed_with_another_key_or_algorithm_is_401(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    claims = _claims(acct)
    other_key = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
    assert_error(await client.get(ME, headers=bearer(other_key)), 401, "invalid_token")
    other_alg = jwt.encode(claims, JWT_SECRET, algorithm="HS512")
    assert_error(await client.get(ME, headers=bearer(other_alg)), 401, "invalid_token")


@pytest.mark.parametrize("claim", ["jti", "sub", "exp", "iat", "sid", "aud", "iss"])
async def test_token_missing_a_required_claim_is_401(
    client: httpx.AsyncClient, register: RegisterFn, claim: str
) -> None:
    acct = await register()
    claims = _claims(acct)
    del claims[claim]
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert_error(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_wrong_audience_or_issuer_is_401(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    for claim, value in (("aud", "someone-else"), ("iss", "someone-else")):
        claims = {**_claims(acct), claim: value}
        token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
        assert_error(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_token_for_unknown_user_is_401(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    claims = {**_claims(acct), "sub": str(uuid.uuid4())}
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert_error(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


# Refresh and logout -------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    first = await client.post("/auth/refresh", json={"refreshToken": acct.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert set(pair) == {"token", "refreshToken"}
    assert pair["refreshToken"] != acct.refresh_token
    assert (await client.get(ME, headers=bearer(pair["token"]))).status_code == 200

    reuse = await client.post("/auth/refresh", json={"refreshToken": acct.refresh_token})
    assert_error(reuse, 401, "refresh_token_reused")
    # The whole family is dead: the rotated refresh token and every access token of it.
    assert_error(
        await client.post("/auth/refresh", json={"refreshToken": pair["refreshToken"]}), 401
    )
    assert_error(await client.get(ME, headers=bearer(pair["token"])), 401)
    assert_error(await client.get(ME, headers=acct.headers), 401)


async def test_refresh_reuse_leaves_other_sessions_alone(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    other = (
        await client.post("/auth/login", json={"email": acct.username, "password": acct.password})
    ).json()
    await client.post("/auth/refresh", json={"refreshToken": acct.refresh_token})
    await client.post("/auth/refresh", json={"refreshToken": acct.refresh_token})
    assert (await client.get(ME, headers=bearer(other["token"]))).status_code == 200
    again = await client.post("/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert again.status_code == 200


async def test_concurrent_refreshes_of_one_token_yield_one_winner(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    results = await asyncio.gather(
        *(client.post("/auth/refresh", json={"refreshToken": acct.refresh_token}) for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]


async def test_refresh_bad_input(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/auth/refresh", json={"refreshToken": "nope"}), 401)
    assert_error(await client.post("/auth/refresh", json={}), 422)
    assert_error(await client.post("/auth/refresh", json={"refreshToken": 7}), 422)
    assert_error(await client.post("/auth/refresh", json={"refreshToken": "r" * 500}), 422)


async def test_logout_revokes_access_token_and_refresh_family(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    other = (
        await client.post("/auth/login", json={"email": acct.username, "password": acct.password})
    ).json()
    out = await client.post(
        "/auth/logout", json={"refreshToken": acct.refresh_token}, headers=acct.headers
    )
    assert out.status_code == 200
    assert out.json() == {"success": True}
    assert_error(await client.get(ME, headers=acct.headers), 401, "invalid_token")
    assert_error(await client.post("/auth/refresh", json={"refreshToken": acct.refresh_token}), 401)
    # A second session of the same user stays logged in.
    assert (await client.get(ME, headers=bearer(other["token"]))).status_code == 200


async def test_logout_without_body_revokes_the_tokens_session(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register()
    rotated = (await client.post("/auth/refresh", json={"refreshToken": acct.refresh_token})).json()
    assert (await client.post("/auth/logout", headers=bearer(rotated["token"]))).status_code == 200
    assert_error(
        await client.post("/auth/refresh", json={"refreshToken": rotated["refreshToken"]}), 401
    )
    assert_error(await client.get(ME, headers=bearer(rotated["token"])), 401)


async def test_logout_publishes_session_revoked_after_commit(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    acct = await register()
    recorder = Recorder()
    node.services.bus.subscribe(recorder)
    await client.post("/auth/logout", headers=acct.headers)
    sid = uuid.UUID(_claims(acct)["sid"])
    assert [(e.name, e.effect.ended_session) for e in recorder.events] == [("session_revoked", sid)]


async def test_logout_requires_auth(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/auth/logout"), 401)

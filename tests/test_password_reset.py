"""Password reset by email, through a real SMTP server the tests start (aiosmtpd).

The node sends to it over TCP as it would to any mail server; the tests read the email
it received, follow its link, and check what the reset changed: the new password signs
in, the old one and every old session do not, and the link works once.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from hubbub.app import Node
from hubbub.store.models import PasswordResetToken
from tests.conftest import Account, RegisterFn, assert_error, count_rows
from tests.mail import Inbox, smtp_server  # noqa: F401 (the `smtp` fixture)

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def settings_overrides(smtp: tuple[Inbox, int]) -> dict[str, Any]:
    _, port = smtp
    return {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "smtp_from": "hubbub <no-reply@chat.example>",
        "public_url": "https://chat.example/",
    }


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


def _token(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    found = re.search(r"https://chat\.example/#/reset-password\?token=([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


async def _ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/password-reset", json={"email": email})


async def _confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": password}
    )


async def _login(client: httpx.AsyncClient, who: Account, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": who.username, "password": password})


async def test_reset_by_email_sets_the_password_and_ends_every_session(
    client: httpx.AsyncClient, register: RegisterFn, inbox: Inbox
) -> None:
    ann = await register("ann")
    other = await _login(client, ann, ann.password)
    assert other.status_code == 200

    asked = await _ask(client, "ANN@example.com")
    assert asked.status_code == 202, asked.text
    nobody = await _ask(client, "nobody@example.com")
    # No account oracle: the same answer for an address without an account.
    assert (nobody.status_code, nobody.json()) == (asked.status_code, asked.json())

    message = await inbox.wait_for("ann@example.com")
    assert message["From"] == "hubbub <no-reply@chat.example>"
    assert message["Subject"] == "Reset your hubbub password"
    token = _token(message)
    assert inbox.to("nobody@example.com") == []

    done = await _confirm(client, token, NEW_PASSWORD)
    assert done.status_code == 200, done.text
    assert_error(await _login(client, ann, ann.password), 401, "invalid_credentials")
    assert (await _login(client, ann, NEW_PASSWORD)).status_code == 200
    # Every session from before the reset has ended.
    assert_error(await client.get("/users/me", headers=ann.headers), 401)
    for refresh in (ann.refresh_token, other.json()["refreshToken"]):
        assert_error(await client.post("/auth/refresh", json={"refreshToken": refresh}), 401)
    # The link works once.
    assert_error(await _confirm(client, token, "yet another passphrase"), 400, "reset_token_used")
    assert (await _login(client, ann, NEW_PASSWORD)).status_code == 200


async def test_bad_reset_tokens_are_refused_and_change_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, inbox: Inbox
) -> None:
    ben = await register("ben")
    assert (await _ask(client, ben.email)).status_code == 202
    token = _token(await inbox.wait_for(ben.email))

    assert_error(await _confirm(client, "not-a-token", NEW_PASSWORD), 400, "invalid_reset_token")
    assert_error(await _confirm(client, token, "short"), 422, "validation_error")
    assert_error(await client.post("/auth/password-reset/confirm", json={"token": token}), 422)
    assert_error(await _ask(client, "not an address"), 422)
    # An expired link: the clock moved past its end.
    async with node.services.db.write() as session:
        await session.execute(
            update(PasswordResetToken).values(expires_at=PasswordResetToken.created_at)
        )
    assert_error(await _confirm(client, token, NEW_PASSWORD), 400, "reset_token_expired")
    # None of this changed Ben's password or ended his session.
    assert (await _login(client, ben, ben.password)).status_code == 200
    assert (await client.get("/users/me", headers=ben.headers)).status_code == 200


async def test_a_newer_reset_spends_the_older_links(
    client: httpx.AsyncClient, register: RegisterFn, inbox: Inbox
) -> None:
    cid = await register("cid")
    for n in (1, 2):
        assert (await _ask(client, cid.email)).status_code == 202
        await inbox.wait_for(cid.email, count=n)
    first, second = (_token(m) for m in inbox.to(cid.email))
    assert first != second
    assert (await _confirm(client, second, NEW_PASSWORD)).status_code == 200
    assert_error(await _confirm(client, first, "yet another passphrase"), 400, "reset_token_used")


async def test_reset_requests_are_limited_per_account_without_telling(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    dee = await register("dee")
    # PASSWORD_RESET_ACCOUNT: a burst of 3 per account; past it the same 202, no token.
    for _ in range(5):
        asked = await _ask(client, dee.email)
        assert asked.status_code == 202, asked.text
    assert await count_rows(node, "password_reset_tokens") == 3


async def test_reset_requests_are_limited_per_address(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    # PASSWORD_RESET_ADDRESS: a burst of 10 per address, whatever the addresses asked.
    answers = [(await _ask(client, f"someone{n}@example.com")).status_code for n in range(11)]
    assert answers == [202] * 10 + [429]
    # Confirmations share the address's budget: guessing tokens is as slow.
    assert_error(await _confirm(client, "guess", NEW_PASSWORD), 429, "rate_limited")

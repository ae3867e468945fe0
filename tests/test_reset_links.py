"""Password reset without email: one-time links from the admin API and the terminal.

Also what a reset request does when no email can leave: without SMTP it answers the same
202 and stores nothing; with an SMTP server that cannot be reached it answers the same
202, and the failure is logged without the link.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hubbub.app import Node, create_app
from hubbub.config import SettingError, Settings
from hubbub.domain.account_rules import reset_link_refusal
from hubbub.domain.errors import Conflict, NotFound
from tests.conftest import (
    JWT_SECRET,
    Account,
    Backend,
    RegisterFn,
    assert_error,
    count_rows,
    empty_database,
    make_settings,
)
from tests.gw import free_port

NEW_PASSWORD = "a brand new passphrase"


def _token(link: str) -> str:
    found = re.fullmatch(r"http://127\.0\.0\.1:8000/#/reset-password\?token=([A-Za-z0-9_-]+)", link)
    assert found, link
    return found.group(1)


async def _confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": password}
    )


async def _login(client: httpx.AsyncClient, who: Account, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": who.username, "password": password})


def test_only_an_active_administrator_issues_reset_links_for_active_accounts() -> None:
    class Who:
        def __init__(self, n: int, *, admin: bool = False, active: bool = True) -> None:
            self.id = uuid.UUID(int=n)
            self.is_admin = admin
            self.is_active = active

    boss, user, gone = Who(1, admin=True), Who(2), Who(3, active=False)
    assert reset_link_refusal(boss, user) is None
    assert reset_link_refusal(boss, boss) is None
    assert isinstance(reset_link_refusal(user, boss), NotFound)
    assert isinstance(reset_link_refusal(Who(4, admin=True, active=False), user), NotFound)
    refused = reset_link_refusal(boss, gone)
    assert isinstance(refused, Conflict)
    assert refused.code == "account_deactivated"


async def test_an_administrator_issues_a_one_time_link_over_the_api(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ann, ben = await register("boss"), await register("ann"), await register("ben")
    await node.services.admin.set_admin_by_username(boss.username, admin=True)

    assert_error(await client.post(f"/admin/users/{ann.id}/reset-link"), 404, "not_found")
    refused = await client.post(f"/admin/users/{ann.id}/reset-link", headers=ben.headers)
    assert_error(refused, 404, "not_found")
    missing = await client.post(
        "/admin/users/00000000-0000-7000-8000-000000000000/reset-link", headers=boss.headers
    )
    assert_error(missing, 404, "user_not_found")
    assert await count_rows(node, "password_reset_tokens") == 0  # refusals stored nothing

    issued = await client.post(f"/admin/users/{ann.id}/reset-link", headers=boss.headers)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert set(body) == {"userId", "link", "expiresAt"}
    assert body["userId"] == str(ann.id)
    token = _token(body["link"])

    assert (await _confirm(client, token, NEW_PASSWORD)).status_code == 200
    assert (await _login(client, ann, NEW_PASSWORD)).status_code == 200
    assert_error(await client.get("/users/me", headers=ann.headers), 401)
    assert_error(await _confirm(client, token, "yet another one!"), 400, "reset_token_used")

    await node.services.admin.set_active_by_username(ben.username, active=False)
    gone = await client.post(f"/admin/users/{ben.id}/reset-link", headers=boss.headers)
    assert_error(gone, 409, "account_deactivated")


def _cli(backend: Backend, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HUBBUB_DATABASE_URL": backend.database_url,
        "HUBBUB_DATA_DIR": str(cwd / "data"),
        "HUBBUB_JWT_SECRET": JWT_SECRET,
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hubbub", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_terminal_prints_a_one_time_link(
    client: httpx.AsyncClient, register: RegisterFn, backend: Backend, tmp_path: Path
) -> None:
    ann = await register("ann")
    done = await asyncio.to_thread(_cli, backend, tmp_path, "reset-link", "--username", "ANN")
    assert done.returncode == 0, done.stderr
    link = done.stdout.splitlines()[0]
    token = _token(link)

    assert (await _confirm(client, token, NEW_PASSWORD)).status_code == 200
    assert (await _login(client, ann, NEW_PASSWORD)).status_code == 200
    assert_error(await _login(client, ann, ann.password), 401)
    assert_error(await _confirm(client, token, "yet another one!"), 400, "reset_token_used")

    unknown = await asyncio.to_thread(
        _cli, backend, tmp_path, "reset-link", "--username", "nobody_here"
    )
    assert unknown.returncode == 1
    assert "User not found" in unknown.stderr


async def test_without_smtp_a_request_answers_the_same_and_stores_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann = await register("ann")
    asked = await client.post("/auth/password-reset", json={"email": ann.email})
    nobody = await client.post("/auth/password-reset", json={"email": "nobody@example.com"})
    assert asked.status_code == nobody.status_code == 202
    assert asked.json() == nobody.json()
    assert await count_rows(node, "password_reset_tokens") == 0


@pytest.fixture
async def unreachable_smtp_node(backend: Backend) -> AsyncIterator[Node]:
    # Nothing listens on this port: every send fails at once.
    settings = make_settings(
        backend, smtp_url=f"smtp://127.0.0.1:{free_port()}", smtp_from="hubbub@chat.example"
    )
    app = create_app(settings)
    async with app.http.router.lifespan_context(app.http):
        try:
            yield app
        finally:
            await empty_database(app)


async def test_an_email_that_cannot_be_sent_is_logged_without_the_link(
    unreachable_smtp_node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    node = unreachable_smtp_node
    transport = httpx.ASGITransport(app=node.asgi, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        registered = await client.post(
            "/auth/register",
            json={"username": "eve", "email": "eve@example.com", "password": "correct horse b"},
        )
        assert registered.status_code == 201, registered.text
        with caplog.at_level(logging.WARNING, logger="hubbub.password_reset"):
            asked = await client.post("/auth/password-reset", json={"email": "eve@example.com"})
            assert asked.status_code == 202, asked.text
            await node.services.resets.close()  # waits for the email on its way
        failures = [r for r in caplog.records if r.name == "hubbub.password_reset"]
        assert len(failures) == 1, caplog.records
        assert "not sent" in failures[0].getMessage()
        assert "token" not in failures[0].getMessage()
        assert "reset-password" not in failures[0].getMessage()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"smtp_url": "http://mail.example"}, "HUBBUB_SMTP_URL"),
        ({"smtp_url": "smtp://"}, "HUBBUB_SMTP_URL"),
        ({"smtp_url": "smtp://mail.example:587"}, "HUBBUB_SMTP_FROM"),
        ({"public_url": "chat.example"}, "HUBBUB_PUBLIC_URL"),
    ],
)
def test_mail_settings_that_cannot_work_stop_start_up_naming_them(
    settings: dict[str, str], named: str, tmp_path: Path
) -> None:
    configured = Settings(_env_file=None, data_dir=tmp_path, **settings)  # type: ignore[call-arg]
    with pytest.raises(SettingError) as refused:
        configured.check()
    assert refused.value.setting == named


def test_good_mail_settings_pass() -> None:
    configured = Settings(
        _env_file=None,  # type: ignore[call-arg]
        smtp_url="smtps://me:secret@mail.example",
        smtp_from="hubbub@chat.example",
        public_url="https://chat.example/",
    )
    configured.check()
    assert configured.effective_public_url == "https://chat.example"

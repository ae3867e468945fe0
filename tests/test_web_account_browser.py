"""The web client's settings and admin pages in a real browser against a real server.

A new user changes their password on the settings page and their other browser (a
second context, its own session) is signed out at once; signs in there again and ends
that session from the list, then with "Sign out everywhere else". An administrator
(made by `hubbub createuser --admin` before the server starts) deactivates a user from
the admin page and that user's open page is signed out, then hands over a reset link
that works once. Someone who is not an administrator sees no admin entry, and /admin
answers them nothing; they change their email and notification defaults, export their
data and delete their account.

These run once, in the SQLite pass, with Debian's Chromium like tests/test_web_browser.py.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.test_web_browser import (
    DESKTOP,
    PASSWORD,
    PHONE,
    chromium,
    expect,
    free_port,
    register,
    serve,
    server_env,
    shoot,
)

pytestmark = pytest.mark.sqlite_only

ADMIN = "root_admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh `hubbub serve` whose first account, ADMIN, is a server administrator."""
    cwd = tmp_path_factory.mktemp("web-admin-serve")
    port = free_port()
    admin = ["--username", ADMIN, "--email", f"{ADMIN}@example.com", "--password", PASSWORD]
    made = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hubbub", "createuser", "--admin", *admin],
        cwd=cwd,
        env=server_env(port),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    with serve(cwd, port) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def sign_in(page: Any, base: str, login: str, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("me-name")).to_be_visible()


def signed_out(page: Any, why: str = "this session was ended") -> None:
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("auth-info")).to_contain_text(why)


def open_settings(page: Any) -> None:
    page.get_by_test_id("open-settings").click()
    expect(page.get_by_test_id("settings-page")).to_be_visible()
    assert page.url.endswith("/settings")


def test_password_change_and_ended_sessions_sign_the_other_browser_out(
    server: str, browser: Any
) -> None:
    name = f"pat_{secrets.token_hex(3)}"
    mine = browser.new_context(viewport=DESKTOP)
    other = browser.new_context(viewport=DESKTOP)
    try:
        page = mine.new_page()
        elsewhere = other.new_page()
        register(page, server, name, "Pat")
        sign_in(elsewhere, server, name)
        open_settings(page)
        sessions = page.get_by_test_id("session")
        expect(sessions).to_have_count(2)
        expect(page.locator("[data-testid=session][data-current=true]")).to_have_count(1)
        expect(page.get_by_test_id("this-device")).to_have_count(1)
        expect(sessions.first).to_contain_text("Chrome on Linux")

        # The wrong current password: the server's words, nothing changes.
        page.get_by_test_id("current-password").fill("not my password")
        page.get_by_test_id("new-password").fill("a brand new secret")
        page.get_by_test_id("change-password").click()
        expect(page.get_by_test_id("password-note")).to_have_attribute("role", "alert")
        expect(page.get_by_test_id("password-note")).to_contain_text("password")
        expect(elsewhere.get_by_test_id("me-name")).to_be_visible()

        page.get_by_test_id("current-password").fill(PASSWORD)
        page.get_by_test_id("change-password").click()
        expect(page.get_by_test_id("password-note")).to_have_text(
            "Password changed. 1 other session was signed out."
        )
        signed_out(elsewhere)
        expect(sessions).to_have_count(1)
        shoot(page, "settings")
        page.set_viewport_size(PHONE)
        shoot(page, "phone-settings")
        page.set_viewport_size(DESKTOP)

        # Back in there with the new password; ended again from the list.
        sign_in(elsewhere, server, name, "a brand new secret")
        page.get_by_test_id("page-back").click()
        open_settings(page)
        expect(sessions).to_have_count(2)
        page.locator("[data-testid=session][data-current=false]").get_by_test_id(
            "end-session"
        ).click()
        signed_out(elsewhere)
        expect(sessions).to_have_count(1)
        expect(page.get_by_test_id("logout-others")).to_be_disabled()

        sign_in(elsewhere, server, name, "a brand new secret")
        page.reload()
        expect(sessions).to_have_count(2)
        page.get_by_test_id("logout-others").click()
        expect(page.get_by_test_id("sessions-note")).to_have_text("1 other session was signed out.")
        signed_out(elsewhere)
        # This browser stayed signed in throughout.
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "online")
    finally:
        mine.close()
        other.close()


def test_an_admin_deactivates_a_user_whose_page_is_signed_out(server: str, browser: Any) -> None:
    name = f"dee_{secrets.token_hex(3)}"
    admin_context = browser.new_context(viewport=DESKTOP)
    user_context = browser.new_context(viewport=DESKTOP)
    try:
        user = user_context.new_page()
        register(user, server, name, "Dee")
        admin = admin_context.new_page()
        sign_in(admin, server, ADMIN)
        open_settings(admin)
        admin.get_by_test_id("open-admin").click()
        expect(admin.get_by_test_id("admin-page")).to_be_visible()
        assert admin.url.endswith("/settings/admin")
        expect(admin.get_by_test_id("stat-users")).not_to_have_text("")
        assert int(admin.get_by_test_id("stat-users").inner_text()) >= 2

        own = admin.locator(f"[data-testid=admin-user][data-username={ADMIN}]")
        expect(own).to_contain_text("You")
        expect(own.get_by_test_id("deactivate")).to_have_count(0)
        admin.get_by_test_id("user-search").fill(name)
        admin.get_by_test_id("user-search").press("Enter")
        row = admin.locator(f"[data-testid=admin-user][data-username={name}]")
        expect(admin.get_by_test_id("admin-user")).to_have_count(1)
        row.get_by_test_id("deactivate").click()
        expect(row).to_have_attribute("data-active", "false")
        expect(row).to_contain_text("deactivated")
        signed_out(user)
        user.fill("input[name=login]", name)
        user.fill("input[name=password]", PASSWORD)
        user.get_by_test_id("auth-submit").click()
        expect(user.get_by_test_id("auth-error")).to_contain_text("deactivated")
        expect(admin.locator("[data-testid=audit-entry]").first).to_contain_text(name)

        # Back again, with a one-time reset link to hand over: it opens the page's form.
        row.get_by_test_id("reactivate").click()
        expect(row).to_have_attribute("data-active", "true")
        row.get_by_test_id("reset-link-button").click()
        link = admin.get_by_test_id("reset-link").input_value()
        assert link.startswith(server + "/#/reset-password?token="), link
        shoot(admin, "admin")
        admin.emulate_media(color_scheme="dark")
        shoot(admin, "admin-dark")
        user.goto(link)
        user.fill("input[name=new-password]", "chosen by a reset")
        user.get_by_test_id("reset-submit").click()
        expect(user.get_by_test_id("auth-info")).to_contain_text("password was changed")
        assert user.url == server + "/"
        sign_in(user, server, name, "chosen by a reset")
        user.goto(link)
        user.fill("input[name=new-password]", "used twice, refused")
        user.get_by_test_id("reset-submit").click()
        expect(user.get_by_test_id("reset-error")).to_be_visible()
    finally:
        admin_context.close()
        user_context.close()


def test_someone_not_an_admin_has_no_admin_page_and_can_leave(server: str, browser: Any) -> None:
    name = f"nan_{secrets.token_hex(3)}"
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        register(page, server, name, "Nan")
        open_settings(page)
        expect(page.get_by_test_id("open-admin")).to_have_count(0)
        signed = httpx.post(server + "/auth/login", json={"email": name, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {signed.json()['token']}"}
        for path in ("/admin/stats", "/admin/users", "/admin/audit"):
            answer = httpx.get(server + path, headers=auth)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["code"] == "not_found"
        page.goto(server + "/settings/admin")
        expect(page.get_by_test_id("me-name")).to_be_visible()
        expect(page.get_by_test_id("admin-page")).to_have_count(0)

        # Email: the server's refusal in its own words, then the change.
        page.goto(server + "/settings")
        page.get_by_test_id("new-email").fill(f"{ADMIN}@example.com")
        page.get_by_test_id("email-password").fill(PASSWORD)
        page.get_by_test_id("change-email").click()
        expect(page.get_by_test_id("email-note")).to_have_attribute("role", "alert")
        expect(page.get_by_test_id("email-note")).to_contain_text("mail")
        page.get_by_test_id("new-email").fill(f"{name}@example.org")
        page.get_by_test_id("email-password").fill(PASSWORD)
        page.get_by_test_id("change-email").click()
        expect(page.get_by_test_id("email-note")).to_have_text("Email changed.")
        expect(page.get_by_test_id("current-email")).to_have_text(f"{name}@example.org")

        # Notification defaults, kept by the server.
        page.get_by_test_id("level-group").select_option("all")
        expect(page.get_by_test_id("notify-note")).to_have_text("Saved.")
        page.get_by_test_id("quiet-start").fill("22:00")
        page.get_by_test_id("save-quiet").click()
        expect(page.get_by_test_id("notify-note")).to_contain_text("both a start and an end")
        page.get_by_test_id("quiet-end").fill("07:00")
        page.get_by_test_id("timezone").fill("Europe/Paris")
        page.get_by_test_id("save-quiet").click()
        expect(page.get_by_test_id("notify-note")).to_have_text("Saved.")
        page.get_by_test_id("pause-1h").click()
        expect(page.get_by_test_id("pause-state")).to_contain_text("Paused until")
        kept = httpx.get(server + "/users/me/notifications", headers=auth).json()
        assert kept["group"] == "all"
        assert (kept["quietHoursStart"], kept["quietHoursEnd"]) == ("22:00", "07:00")
        assert kept["timezone"] == "Europe/Paris"
        assert kept["pausedUntil"] is not None
        page.get_by_test_id("digests").uncheck()
        expect(page.get_by_test_id("notify-note")).to_have_text("Saved.")
        prefs = httpx.get(server + "/users/me/notifications", headers=auth).json()
        assert prefs["digests"] is False

        # One conversation's own level and mute, from its details panel.
        friend = httpx.post(server + "/auth/register", json={
            "username": f"f{name}", "email": f"f{name}@example.com", "password": PASSWORD,
        }).json()["user"]  # fmt: skip
        made = httpx.post(server + "/conversations", headers=auth, json={
            "type": "GROUP", "name": "standup", "participantIds": [friend["id"]],
        })  # fmt: skip
        assert made.status_code == 201, made.text
        cid = made.json()["conversation"]["id"]

        def mine() -> dict[str, Any]:
            shown: dict[str, Any] = httpx.get(
                server + f"/conversations/{cid}", headers=auth
            ).json()["conversation"]
            return shown

        page.goto(server + f"/c/{cid}")
        page.get_by_test_id("open-info").click()
        page.get_by_test_id("conversation-level").select_option("nothing")
        expect(page.get_by_test_id("conversation-level")).to_have_value("nothing")
        assert mine()["notificationLevel"] == "nothing"
        page.get_by_test_id("conversation-level").select_option("")
        expect(page.get_by_test_id("conversation-level")).to_have_value("")
        assert mine()["notificationLevel"] is None
        page.get_by_test_id("mute-for").select_option("3600")
        expect(page.get_by_test_id("muted-until")).to_contain_text("Muted until")
        assert mine()["mutedUntil"] is not None
        page.get_by_test_id("unmute").click()
        expect(page.get_by_test_id("mute-for")).to_be_visible()
        assert mine()["mutedUntil"] is None

        # My data, then the account itself.
        page.goto(server + "/settings")
        page.get_by_test_id("start-export").click()
        download = page.get_by_test_id("export-download")
        expect(download).to_be_visible()
        assert download.get_attribute("href").startswith("blob:")
        page.get_by_test_id("delete-password").fill(PASSWORD)
        page.get_by_test_id("delete-account").click()
        page.get_by_test_id("confirm-delete").click()
        signed_out(page, "Your account was deleted.")
        assert page.url == server + "/"
        gone = httpx.post(server + "/auth/login", json={"email": name, "password": PASSWORD})
        assert gone.status_code in (401, 403), gone.text
    finally:
        context.close()

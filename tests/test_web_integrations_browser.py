"""The web client's integrations page (/settings/integrations) in a real browser against
a real server: a new user makes an API token (shown once, copied, working as a bearer
token, then revoked), a bot with a token of its own, and a webhook into a conversation
the bot was added to; the page's test button posts through the webhook's URL, and the
conversation shows the message with the bot's badge and the label. Then the bot's
outgoing webhooks: one to a real receiver on the loopback (which checks the signature
with the secret the page showed) gets the page's test event, and the delivery log says
delivered; one to a closed port shows the failure with its error.

These run once, in the SQLite pass, with Debian's Chromium like tests/test_web_browser.py.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from hubbub.client.webhooks import InvalidSignature, read_event
from tests.hooks import HOOK_ENV
from tests.test_web_browser import (
    DESKTOP,
    PASSWORD,
    chromium,
    expect,
    free_port,
    message,
    register,
    serve,
)

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # HOOK_ENV: the loopback allowed for outgoing webhooks (the receiver is on it).
    with serve(tmp_path_factory.mktemp("web-integrations"), free_port(), HOOK_ENV) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_bots_and_webhooks_from_the_integrations_page(server: str, browser: Any) -> None:
    name = f"ivy_{secrets.token_hex(3)}"
    context = browser.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    try:
        page = context.new_page()
        register(page, server, name, "Ivy")
        page.get_by_test_id("open-settings").click()
        page.get_by_test_id("open-integrations").click()
        expect(page.get_by_test_id("integrations-page")).to_be_visible()
        assert page.url.endswith("/settings/integrations")

        # A token: shown once, copied, usable, listed, revoked.
        tokens = page.get_by_test_id("tokens-card")
        tokens.get_by_test_id("token-name").fill("a script")
        tokens.get_by_test_id("scope-send").check()
        tokens.get_by_test_id("make-token").click()
        shown = tokens.get_by_test_id("token-secret-text")
        expect(shown).to_contain_text("hbt_")
        secret = shown.inner_text().strip()
        tokens.get_by_test_id("token-secret-copy").click()
        expect(tokens.get_by_test_id("token-secret-copy")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        expect(tokens.get_by_test_id("token-row")).to_have_count(1)
        expect(tokens.get_by_test_id("token-row")).to_contain_text("read, send")
        me = httpx.get(server + "/users/me", headers=bearer(secret))
        assert me.status_code == 200, me.text
        assert me.json()["user"]["username"] == name
        tokens.get_by_test_id("revoke-token").click()
        expect(tokens.get_by_test_id("token-row")).to_have_count(0)
        assert httpx.get(server + "/users/me", headers=bearer(secret)).status_code == 401

        # A bot, listed with its badge.
        bot_name = f"ci_{secrets.token_hex(3)}"
        page.get_by_test_id("bot-username").fill(bot_name)
        page.get_by_test_id("bot-display-name").fill("Build bot")
        page.get_by_test_id("make-bot").click()
        row = page.get_by_test_id("bot-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Build bot")
        expect(row).to_contain_text("BOT")

        # Added to a new group by its owner (over the API, as any participant).
        login = httpx.post(server + "/auth/login", json={"email": name, "password": PASSWORD})
        owner = bearer(login.json()["token"])
        bots = httpx.get(server + "/bots", headers=owner).json()["bots"]
        bot_id = bots[0]["user"]["id"]
        made = httpx.post(
            server + "/conversations",
            json={"type": "GROUP", "name": "Builds", "participantIds": [bot_id]},
            headers=owner,
        )
        assert made.status_code == 201, made.text
        cid = made.json()["conversation"]["id"]

        row.get_by_test_id("open-bot").click()
        bot_tokens = page.get_by_test_id("bot-tokens-card")
        bot_tokens.get_by_test_id("token-name").fill("deploys")
        bot_tokens.get_by_test_id("make-token").click()
        bot_secret = bot_tokens.get_by_test_id("token-secret-text").inner_text().strip()
        as_bot = httpx.get(server + "/users/me", headers=bearer(bot_secret)).json()["user"]
        assert (as_bot["id"], as_bot["isBot"]) == (bot_id, True)

        hooks = page.get_by_test_id("webhooks-card")
        expect(hooks.locator(f"option[value='{cid}']")).to_have_count(1)
        hooks.get_by_test_id("webhook-conversation").select_option(cid)
        hooks.get_by_test_id("webhook-name").fill("CI")
        hooks.get_by_test_id("make-webhook").click()
        url = hooks.get_by_test_id("webhook-url-text")
        expect(url).to_contain_text("/hooks/")
        old = url.inner_text().strip()
        expect(hooks.get_by_test_id("webhook-row")).to_have_count(1)
        hooks.get_by_test_id("test-webhook").click()
        expect(hooks.get_by_test_id("webhooks-note")).to_have_text("Test message posted.")

        # The conversation shows it from the bot, badged, with the label.
        page.goto(server + f"/c/{cid}")
        posted = message(page, "A test from the integrations page")
        expect(posted).to_have_count(1)
        expect(posted.get_by_test_id("bot-badge")).to_have_text("BOT")
        expect(posted.get_by_test_id("message-label")).to_contain_text("via test")

        # A new URL: the shown one stops working.
        page.goto(server + "/settings/integrations")
        page.get_by_test_id("open-bot").click()
        page.get_by_test_id("rotate-webhook").click()
        expect(page.get_by_test_id("webhook-url-text")).not_to_have_text(old)
        gone = httpx.post(server + "/hooks/" + old.split("/hooks/")[1], json={"text": "x"})
        assert gone.status_code == 404
    finally:
        context.close()


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on the loopback: each delivery's signature checked with
    `secret` (the SDK's helper), the event types that passed recorded."""

    secret = ""
    events: list[str]
    problems: list[str]


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            event = read_event(self.server.secret, body, dict(self.headers))
            self.server.events.append(event.type)
            self.send_response(200)
        except InvalidSignature as exc:  # told to the test, which fails on any
            self.server.problems.append(repr(exc))
            self.send_response(401)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(("127.0.0.1", 0), Handler)
    made.events, made.problems = [], []
    thread = threading.Thread(target=made.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.shutdown()
        made.server_close()


def refreshed_until(page: Any, log: Any, ready: Any) -> None:
    """Press the log's Refresh until `ready()` (deliveries are made in the background)."""
    deadline = time.monotonic() + 20
    while not ready():
        assert time.monotonic() < deadline, log.inner_text()
        page.wait_for_timeout(200)
        log.get_by_test_id("refresh-log").click()


def test_a_bots_outgoing_webhooks_and_their_delivery_log(
    server: str, browser: Any, receiver: Receiver
) -> None:
    name = f"oli_{secrets.token_hex(3)}"
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        register(page, server, name, "Oli")
        page.goto(server + "/settings/integrations")
        page.get_by_test_id("bot-username").fill(f"hook_{secrets.token_hex(3)}")
        page.get_by_test_id("make-bot").click()
        page.get_by_test_id("open-bot").click()
        card = page.get_by_test_id("subscriptions-card")

        # One to the receiver: the secret shown once, the test event delivered.
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        card.get_by_test_id("subscription-url").fill(url)
        card.get_by_test_id("event-new_message").check()
        card.get_by_test_id("make-subscription").click()
        shown = card.get_by_test_id("subscription-secret-text")
        expect(shown).to_contain_text("whsec_")
        receiver.secret = shown.inner_text().strip()
        row = card.get_by_test_id("subscription-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(url)
        expect(row).to_contain_text("new_message, mention")
        row.get_by_test_id("send-test").click()
        expect(card.get_by_test_id("subscriptions-note")).to_have_text("Test event sent.")
        log = row.get_by_test_id("delivery-log")
        delivery = log.get_by_test_id("delivery-row")
        expect(delivery).to_have_count(1)
        refreshed_until(page, log, lambda: delivery.get_attribute("data-status") == "delivered")
        expect(delivery).to_contain_text("ping")
        expect(delivery).to_contain_text("1 attempt")
        expect(delivery.get_by_test_id("delivery-error")).to_have_count(0)
        assert (receiver.events, receiver.problems) == (["ping"], [])

        # One to a closed port: the failure and its error in the log.
        card.get_by_test_id("subscription-url").fill(f"http://127.0.0.1:{free_port()}/hook")
        card.get_by_test_id("make-subscription").click()
        expect(card.get_by_test_id("subscription-row")).to_have_count(2)
        down = card.get_by_test_id("subscription-row").nth(1)
        down.get_by_test_id("send-test").click()
        log = down.get_by_test_id("delivery-log")
        error = log.get_by_test_id("delivery-error")
        refreshed_until(page, log, lambda: error.count() == 1)
        expect(error).not_to_be_empty()
        assert log.get_by_test_id("delivery-row").get_attribute("data-status") != "delivered"

        # Deleted: gone from the list (the first stays).
        down.get_by_test_id("delete-subscription").click()
        expect(card.get_by_test_id("subscription-row")).to_have_count(1)
        expect(card.get_by_test_id("subscription-row")).to_contain_text(url)
    finally:
        context.close()

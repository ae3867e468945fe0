"""The web client in a real browser against a real `hubbub serve`.

Debian's Chromium (/usr/bin/chromium) driven by the Python Playwright package, headless.
Two people in two browser contexts use the client as they would: register, start a
private chat and a group, talk, type, read, react, reply, edit, delete, upload an image,
and one of them drops off the network and comes back to exactly what was missed. One
of them talks over WebSocket, the other behind a blocked WebSocket, over polling.
Screenshots of the main screens (desktop and phone, light and dark) are written to
artifacts/screenshots/.

These run once, in the SQLite pass. The realtime scenario needs the Socket.IO gateway
(namespace /messaging): it skips, saying so, only while the server does not have it.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.conftest import IN_CI

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("HUBBUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(port: int) -> dict[str, str]:
    """The environment of a test server (and of the CLI run against its directory)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")} | {
        "HUBBUB_PORT": str(port),
        # cheap but real Argon2id: the scenario registers several people
        "HUBBUB_ARGON2_TIME_COST": "1",
        "HUBBUB_ARGON2_MEMORY_KIB": "1024",
        "HUBBUB_ARGON2_PARALLELISM": "1",
    }


@contextmanager
def serve(cwd: Path, port: int, extra: dict[str, str] | None = None) -> Iterator[str]:
    """`hubbub serve` on `port` in `cwd`, embedded default (`extra` settings); its base URL."""
    log = (cwd / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubbub", "serve"],
        cwd=cwd,
        env=server_env(port) | (extra or {}),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, (cwd / "server.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hubbub serve` on a free port, embedded default, in a fresh directory.

    HUBBUB_TEST_WEB_URL=http://host:port runs the browser tests against a server that is
    already running instead (while developing the client).
    """
    running = os.environ.get("HUBBUB_TEST_WEB_URL")
    if running:
        yield running.rstrip("/")
        return
    with serve(tmp_path_factory.mktemp("web-serve"), free_port()) as base:
        yield base


def chromium() -> Iterator[Any]:
    """Headless Chromium for the module (skipped, or failed in CI, without it)."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def gateway_missing(base: str) -> str | None:
    """Why the realtime scenario cannot run here, or None when /messaging answers.

    An Engine.IO polling handshake, then a namespace connect with a forged token: a
    server with the gateway refuses it as `unauthorized` (docs/socket-protocol.md, Handshake); one
    without the namespace answers otherwise ("Invalid namespace", "Unable to connect").
    """
    with httpx.Client(base_url=base, timeout=5) as http:
        opened = http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        if opened.status_code != 200 or not opened.text.startswith("0"):
            return f"no Socket.IO endpoint at /socket.io ({opened.status_code})"
        sid = re.search(r'"sid":"([^"]+)"', opened.text)
        assert sid is not None, opened.text
        params = {"EIO": "4", "transport": "polling", "sid": sid.group(1)}
        http.post("/socket.io/", params=params, content='40/messaging,{"token":"forged"}')
        answer = http.get("/socket.io/", params=params).text
        if answer.startswith("44/messaging,") and "unauthorized" in answer:
            return None
        return f"the server has no Socket.IO gateway on /messaging yet (it answered {answer!r})"


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def register(page: Any, base: str, username: str, display: str) -> None:
    page.goto(base + "/")
    page.get_by_test_id("tab-register").click()
    page.fill("input[name=username]", username)
    page.fill("input[name=displayName]", display)
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("me-name")).to_have_text(display)


def open_chat(page: Any, title: str) -> None:
    page.locator(f"[data-testid=conversation][data-title='{title}']").click()
    expect(page.get_by_test_id("chat-title")).to_have_text(title)


def send(page: Any, text: str, composer: str = "composer") -> None:
    box = page.get_by_test_id(composer).get_by_test_id("message-input")
    box.fill(text)
    box.press("Enter")


def exactly(page: Any, text: str) -> Any:
    """The message texts in the history that are exactly `text`."""
    return (
        page.get_by_test_id("message-list")
        .get_by_test_id("message-text")
        .filter(has_text=re.compile("^" + re.escape(text) + "$"))
    )


def message(page: Any, text: str) -> Any:
    """The message row whose text is exactly `text` (not a reply quoting it)."""
    return (
        page.get_by_test_id("message-list")
        .get_by_test_id("message")
        .filter(
            has=page.get_by_test_id("message-text").filter(
                has_text=re.compile("^" + re.escape(text) + "$")
            )
        )
    )


def png_bytes() -> bytes:
    """A small diagram-like picture: a warm gradient with a few shapes."""
    image = Image.new("RGB", (240, 160))
    pixels = image.load()
    assert pixels is not None
    for x in range(240):
        for y in range(160):
            pixels[x, y] = (250 - y // 2, 170 + x // 6, 90 + y // 3)
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 40, 110, 120), fill=(255, 255, 255))
    draw.rectangle((130, 50, 210, 110), outline=(40, 40, 60), width=4)
    draw.line((110, 80, 130, 80), fill=(40, 40, 60), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_sign_in_and_history_render_as_text(server: str, browser: Any) -> None:
    """Register and sign in through the page; history (made over HTTP) renders as text."""
    suffix = secrets.token_hex(3)
    payload = '<img src=x onerror="window.__xss=1">'
    with httpx.Client(base_url=server, timeout=10) as http:
        other = http.post(
            "/auth/register",
            json={
                "username": f"writer_{suffix}",
                "email": f"writer_{suffix}@example.com",
                "password": PASSWORD,
                "displayName": "A Writer",
            },
        ).json()
        assert "token" in other, other
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        try:
            page.goto(server + "/")
            expect(page.get_by_test_id("login-form")).to_be_visible()
            shoot(page, "desktop-sign-in")
            register(page, server, f"reader_{suffix}", "A Reader")
            me = http.post("/auth/login", json={"email": f"reader_{suffix}", "password": PASSWORD})
            reader_id = me.json()["user"]["id"]
            headers = {"Authorization": f"Bearer {other['token']}"}
            made = http.post(
                "/conversations",
                json={"type": "PRIVATE", "participantIds": [reader_id]},
                headers=headers,
            )
            assert made.status_code in (200, 201), made.text
            conv_id = made.json()["conversation"]["id"]
            for text in ("plain words first", payload, "see https://example.com/page"):
                sent = http.post(
                    f"/conversations/{conv_id}/messages", json={"content": text}, headers=headers
                )
                assert sent.status_code == 201, sent.text

            page.reload()
            open_chat(page, "A Writer")
            expect(exactly(page, payload)).to_have_count(1)
            assert page.evaluate("window.__xss") is None
            assert page.locator("[data-testid=message-list] img[src=x]").count() == 0
            link = page.get_by_test_id("message-list").locator("a[href='https://example.com/page']")
            expect(link).to_have_attribute("rel", "noopener noreferrer")
            expect(page.get_by_test_id("new-messages-marker")).to_be_visible()

            # signing out ends the session; a reload lands on the sign-in page
            page.get_by_test_id("logout").click()
            expect(page.get_by_test_id("login-form")).to_be_visible()
            page.reload()
            expect(page.get_by_test_id("login-form")).to_be_visible()
            page.fill("input[name=login]", f"reader_{suffix}")
            page.fill("input[name=password]", PASSWORD)
            page.get_by_test_id("auth-submit").click()
            expect(page.get_by_test_id("me-name")).to_have_text("A Reader")
            # a reload keeps the session (refresh token) and the route
            page.goto(f"{server}/c/{conv_id}")
            expect(page.get_by_test_id("chat-title")).to_have_text("A Writer")
        finally:
            context.close()


def test_two_people_chat_in_real_time(server: str, browser: Any, tmp_path: Path) -> None:
    reason = gateway_missing(server)
    if reason:
        pytest.skip(reason)
    suffix = secrets.token_hex(3)
    a_name, b_name = f"ada_{suffix}", f"grace_{suffix}"
    a_display, b_display = "Ada L", "Grace H"
    image = tmp_path / "diagram.png"
    image.write_bytes(png_bytes())

    ctx_a = browser.new_context(viewport=DESKTOP)
    ctx_b = browser.new_context(viewport=DESKTOP)
    try:
        a = ctx_a.new_page()
        b = ctx_b.new_page()
        for page in (a, b):
            page.on("dialog", lambda dialog: dialog.accept())
        # Grace is behind something that drops WebSockets: her client falls back to polling.
        ctx_b.route_web_socket(re.compile(r".*/socket\.io/.*"), lambda ws: ws.close())
        register(a, server, a_name, a_display)
        register(b, server, b_name, b_display)
        expect(a.get_by_test_id("connection")).to_have_attribute("data-state", "online")
        expect(a.get_by_test_id("connection")).to_have_attribute("data-transport", "websocket")
        connection_b = b.get_by_test_id("connection")
        expect(connection_b).to_have_attribute("data-state", "online", timeout=30_000)
        expect(connection_b).to_have_attribute("data-transport", "polling")

        # a private chat, found by user search
        a.get_by_test_id("new-chat").click()
        a.get_by_test_id("user-search").fill(b_name[:8])
        a.locator(f"[data-testid=user-result][data-username='{b_name}']").click()
        expect(a.get_by_test_id("chat-title")).to_have_text(b_display)
        send(a, "Hello from Ada")
        expect(message(a, "Hello from Ada")).to_have_attribute(
            "data-status", re.compile("SENT|DELIVERED|READ")
        )

        # it reaches the other side live, with an unread badge
        conv_b = b.locator(f"[data-testid=conversation][data-title='{a_display}']")
        expect(conv_b.get_by_test_id("unread-badge")).to_have_text("1")
        open_chat(b, a_display)
        expect(exactly(b, "Hello from Ada")).to_have_count(1)

        # read receipt: Ada sees that Grace has seen it
        expect(message(a, "Hello from Ada").get_by_test_id("message-status")).to_contain_text(
            "Seen"
        )

        # typing indicator
        b.get_by_test_id("message-input").press_sequentially("typing", delay=40)
        expect(a.get_by_test_id("typing-indicator")).to_contain_text(f"{b_display} is typing")
        b.get_by_test_id("message-input").fill("")
        send(b, "Hi Ada, Grace here")
        expect(exactly(a, "Hi Ada, Grace here")).to_have_count(1)

        # reaction
        theirs = message(b, "Hello from Ada")
        theirs.hover()
        theirs.get_by_test_id("react").click()
        b.get_by_test_id("emoji-picker").get_by_role("button").first.click()
        expect(message(a, "Hello from Ada").get_by_test_id("reaction")).to_contain_text("1")

        # reply (shows the quoted message), and the thread view
        reply_to = message(a, "Hi Ada, Grace here")
        reply_to.hover()
        reply_to.get_by_test_id("reply").click()
        send(a, "Replying to you")
        expect(message(b, "Replying to you").locator(".quote")).to_contain_text(
            "Hi Ada, Grace here"
        )
        thread_link = message(b, "Hi Ada, Grace here").get_by_test_id("open-thread")
        expect(thread_link).to_have_text("1 reply")
        thread_link.click()
        expect(b.get_by_test_id("thread-panel")).to_contain_text("Replying to you")
        send(b, "Answer inside the thread", composer="thread-composer")
        expect(a.get_by_test_id("message-list")).to_contain_text("Answer inside the thread")
        b.get_by_test_id("thread-panel").get_by_role("button", name="Close thread").click()

        # edit
        mine = message(a, "Replying to you")
        mine.hover()
        mine.get_by_test_id("edit").click()
        a.get_by_test_id("message-input").fill("Replying to you (edited)")
        a.get_by_test_id("message-input").press("Enter")
        expect(message(b, "Replying to you (edited)")).to_contain_text("edited")

        # delete
        send(a, "A message to take back")
        gone = message(a, "A message to take back")
        expect(message(b, "A message to take back")).to_have_count(1)
        gone.hover()
        gone.get_by_test_id("delete").click()
        expect(b.get_by_test_id("message-list")).not_to_contain_text("A message to take back")
        expect(b.get_by_test_id("message-deleted").first).to_be_visible()

        # an image, with upload progress and a thumbnail on both sides
        a.get_by_test_id("file-input").set_input_files(str(image))
        a.get_by_test_id("send").click()
        expect(b.get_by_test_id("attachment-image")).to_have_count(1)
        expect(a.get_by_test_id("attachment-image")).to_have_count(1)
        expect(b.get_by_test_id("attachment-image")).to_have_js_property("complete", True)
        assert b.get_by_test_id("attachment-image").evaluate("img => img.naturalWidth") > 0

        # an XSS payload stays text
        payload = '<img src=x onerror="window.__xss=1">'
        send(a, payload)
        expect(exactly(b, payload)).to_have_count(1)
        assert b.evaluate("window.__xss") is None
        assert b.locator("[data-testid=message-list] img[src=x]").count() == 0

        shoot(a, "desktop-chat")

        # offline: Grace drops off, Ada keeps talking, Grace comes back to exactly that
        ctx_b.set_offline(True)
        expect(b.get_by_test_id("connection")).to_have_attribute("data-state", "offline")
        missed = [f"while you were away {i}" for i in range(1, 4)]
        for text in missed:
            send(a, text)
            expect(message(a, text)).to_have_attribute(
                "data-status", re.compile("SENT|DELIVERED|READ")
            )
        # and Grace writes while offline: shown at once as pending
        send(b, "written offline")
        expect(message(b, "written offline")).to_have_attribute("data-status", "PENDING")
        shoot(b, "desktop-offline")
        ctx_b.set_offline(False)
        expect(connection_b).to_have_attribute("data-state", "online", timeout=30_000)
        for text in missed:
            expect(exactly(b, text)).to_have_count(1)
        expect(message(b, "written offline")).to_have_attribute(
            "data-status", re.compile("SENT|DELIVERED|READ")
        )
        expect(exactly(a, "written offline")).to_have_count(1)
        # nothing shown twice after the resume
        for text in ("Hello from Ada", "Hi Ada, Grace here", missed[0]):
            expect(exactly(b, text)).to_have_count(1)

        # a group, with a name and members; roles managed from its details
        a.get_by_test_id("new-chat").click()
        a.get_by_test_id("kind-group").click()
        a.get_by_test_id("group-name").fill("Launch team")
        a.get_by_test_id("user-search").fill(b_name[:8])
        a.locator(f"[data-testid=user-result][data-username='{b_name}']").click()
        a.get_by_test_id("picker-confirm").click()
        expect(a.get_by_test_id("chat-title")).to_have_text("Launch team")
        send(a, "Welcome to the group")
        open_chat(b, "Launch team")
        expect(exactly(b, "Welcome to the group")).to_have_count(1)
        expect(a.get_by_test_id("seen-by")).to_have_text(f"Seen by {b_display}")
        send(b, "Glad to be here")
        expect(exactly(a, "Glad to be here")).to_have_count(1)
        a.get_by_test_id("open-info").click()
        role = a.get_by_test_id("info-panel").get_by_test_id("role-select")
        role.select_option("ADMIN")
        expect(role).to_have_value("ADMIN")
        shoot(a, "desktop-group-details")

        # conversation list: activity order, mute
        a.get_by_test_id("open-info").click()
        a.get_by_test_id("toggle-mute").click()
        group_row = a.locator("[data-testid=conversation][data-title='Launch team']")
        expect(group_row.get_by_test_id("muted")).to_be_visible()
        titles = a.get_by_test_id("conversation").evaluate_all(
            "els => els.map(e => e.dataset.title)"
        )
        assert titles[:2] == ["Launch team", b_display]

        # phone size and dark mode
        b.set_viewport_size(PHONE)
        b.emulate_media(color_scheme="dark")
        shoot(b, "phone-dark-chat")
        b.get_by_role("button", name="Back").click()
        expect(b.get_by_test_id("conversation-list")).to_be_visible()
        shoot(b, "phone-dark-list")
        a.set_viewport_size(PHONE)
        shoot(a, "phone-light-chat")
    finally:
        ctx_a.close()
        ctx_b.close()


@pytest.mark.parametrize(
    ("path", "operation"),
    [("/docs", ".opblock"), ("/redoc", "[data-section-id^='operation/']")],
)
def test_api_docs_render_from_this_server_alone(
    server: str, browser: Any, path: str, operation: str
) -> None:
    """Every request to another origin is cut, as offline: the docs render all the same."""
    page = browser.new_page()
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    try:
        page.goto(server + path)
        expect(page.locator(operation).first).to_be_visible()
        assert page.locator(operation).count() > 20  # the operation list, not an error
        expect(page.get_by_text("/auth/register").first).to_be_attached()
        shoot(page, f"api{path.replace('/', '-')}")
        assert elsewhere == []
    finally:
        page.close()


def api_user(base: str, username: str, display: str) -> dict[str, str]:
    """Someone who uses the API, not the browser: their id and access token."""
    r = httpx.post(
        base + "/auth/register",
        json={
            "username": username,
            "displayName": display,
            "email": f"{username}@example.com",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    return {"id": r.json()["user"]["id"], "token": r.json()["token"]}


def eventually(
    page: Any, expression: str, within: float = 20.0, seen: Callable[[], str] = str
) -> Any:
    """The first non-null value of a (promise-returning) page expression; on a timeout,
    the failure says what `seen` gives (the page's console, say)."""
    deadline = time.monotonic() + within
    while True:
        value = page.evaluate(expression)
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"still null: {expression}\n{seen()}"
        page.wait_for_timeout(50)


def test_notifications_turned_on_show_a_message_of_another_conversation(
    server: str, browser: Any
) -> None:
    manifest = httpx.get(server + "/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.json()["start_url"] == "/"
    worker = httpx.get(server + "/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "notificationclick" in worker.text

    context = browser.new_context(viewport=DESKTOP)
    context.grant_permissions(["notifications"], origin=server)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    try:
        tag = secrets.token_hex(3)
        register(page, server, f"nora_{tag}", "Nora")
        bob = api_user(server, f"bob_{tag}", "Bob")
        auth = {"Authorization": f"Bearer {bob['token']}"}
        found = httpx.get(server + "/users/search", params={"q": f"nora_{tag}"}, headers=auth)
        nora_id = found.json()["users"][0]["id"]
        group = httpx.post(
            server + "/conversations",
            headers=auth,
            json={"type": "GROUP", "name": f"crew {tag}", "participantIds": [nora_id]},
        )
        direct = httpx.post(
            server + "/conversations",
            headers=auth,
            json={"type": "PRIVATE", "participantIds": [nora_id]},
        )
        assert group.status_code == direct.status_code == 201, (group.text, direct.text)
        direct_id = direct.json()["conversation"]["id"]

        toggle = page.get_by_test_id("notifications")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        assert eventually(
            page,
            "navigator.serviceWorker.getRegistration()"
            ".then(r => r && r.active ? r.active.scriptURL : null)",
        ).endswith("/sw.js")
        open_chat(page, f"crew {tag}")
        # The notifier tells a user's sockets only while one is connected (else it pushes).
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "online")
        sent = httpx.post(
            server + f"/conversations/{direct_id}/messages",
            headers=auth,
            json={"content": "lunch at noon?"},
        )
        assert sent.status_code == 201, sent.text
        shown = eventually(
            page,
            """navigator.serviceWorker.getRegistration()
                .then(r => r.getNotifications())
                .then(ns => ns.length ? ns.map(n => [n.title, n.body, n.data.url]) : null)""",
            seen=lambda: "the page's console:\n" + "\n".join(console),
        )
        message_id = sent.json()["message"]["id"]
        at_message = f"/c/{direct_id}?message={message_id}"
        assert shown == [["Bob", "lunch at noon?", at_message]]
        shoot(page, "notifications-on")
        # A click: the service worker (sw.js, notificationclick) asks the open tab to
        # show the conversation at the message; the page's half, with what the worker posts.
        page.evaluate(
            "url => navigator.serviceWorker.dispatchEvent("
            "new MessageEvent('message', {data: {type: 'open', url}}))",
            at_message,
        )
        expect(page.get_by_test_id("chat-title")).to_have_text("Bob")
        assert page.url.endswith(at_message)
        shown_at = page.get_by_test_id("message-list").locator(
            f"[data-testid=message][data-id='{message_id}']"
        )
        expect(shown_at).to_have_attribute("data-highlighted", "true")
    finally:
        context.close()

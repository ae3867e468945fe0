"""Notifications end to end: the `notification` socket event and Web Push, against a
push service the test runs.

The push service is a real HTTP server (aiohttp) on the loopback: it checks each push's
VAPID signature (RFC 8292: an ES256 JWT signed by the server's key, `aud` its own origin,
`exp` within a day) and decrypts the body (RFC 8291, aes128gcm) with the subscription's
private key and auth secret, which the test made like a browser does. On the PostgreSQL
run two nodes share the database and Redis: a socket on the other node hears the
`notification`, and a push leaves once. On SQLite, one node, whose VAPID key is generated
into its data dir.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import http_ece
import httpx
import jwt
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hubbub.app import Node
from tests.conftest import Backend, count_rows
from tests.gw import Client, Server, User, clients, cluster, free_port, group, http_send, register


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's push subscription: its key pair and auth secret stay here."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def keys(self) -> dict[str, str]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64(point), "auth": b64(self.auth)}


class PushService:
    """Receives pushes at /push/{name}; answers `status[name]` (201 by default)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.browsers: dict[str, Browser] = {}
        self.status: dict[str, int] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.server_key: str | None = None  # the VAPID public key the pushes must carry
        self.problems: list[str] = []
        self._changed = asyncio.Event()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser(self) -> Browser:
        made = Browser(secrets.token_hex(6))
        self.browsers[made.name] = made
        return made

    def endpoint(self, browser: Browser) -> str:
        return f"{self.origin}/push/{browser.name}"

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        try:
            payload = self.check(request, self.browsers[name], body)
        except Exception as exc:  # told to the test, which fails on any
            self.problems.append(f"{name}: {exc!r}")
            self._changed.set()
            return web.Response(status=400)
        status = self.status.get(name, 201)
        self.received.setdefault(name, []).append(payload)
        self._changed.set()
        return web.Response(status=status)

    def check(self, request: web.Request, browser: Browser, body: bytes) -> dict[str, Any]:
        scheme, _, params = request.headers["Authorization"].partition(" ")
        assert scheme == "vapid", scheme
        parts = dict(p.split("=", 1) for p in params.split(","))
        assert parts["k"] == self.server_key, "not signed by the server's key"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
        claims = jwt.decode(
            parts["t"],
            key=public,
            algorithms=["ES256"],
            audience=self.origin,
            options={"require": ["aud", "exp", "sub"]},
        )
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
        assert claims["sub"].startswith(("mailto:", "https://")), claims
        assert request.headers["Content-Encoding"] == "aes128gcm"
        assert int(request.headers["TTL"]) > 0
        plain = http_ece.decrypt(
            body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
        )
        decoded: dict[str, Any] = orjson.loads(plain)
        return decoded

    async def wait(self, browser: Browser, count: int, within: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + within
        while len(self.received.get(browser.name, [])) < count:
            assert not self.problems, self.problems
            left = deadline - time.monotonic()
            assert left > 0, f"{browser.name}: {self.received.get(browser.name)}"
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        assert not self.problems, self.problems
        return self.received[browser.name]

    def of(self, browser: Browser) -> list[dict[str, Any]]:
        return self.received.get(browser.name, [])


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", service.port).start()
    try:
        yield service
    finally:
        await runner.cleanup()


@dataclass
class World:
    nodes: list[Server]
    data_dirs: list[Path]
    push: PushService


@pytest.fixture(scope="module")
async def world(
    backend: Backend,
    tmp_path_factory: pytest.TempPathFactory,
    push_service: PushService,
    vapid_pem: str,
) -> AsyncIterator[World]:
    directory = tmp_path_factory.mktemp("push")
    env = {"HUBBUB_PUSH_ALLOW_INSECURE_LOOPBACK": "true", "HUBBUB_PRESENCE_GRACE_S": "0.2"}
    if backend.is_postgres:
        # Several nodes share one key, given (each would generate its own otherwise).
        env["HUBBUB_PUSH_VAPID_PRIVATE_KEY"] = vapid_pem
    async with cluster(backend, directory, env) as nodes:
        async with httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http:
            who = await register(http)
            r = await http.get("/push/vapid-public-key", headers=who.headers)
            assert r.status_code == 200, r.text
            push_service.server_key = r.json()["publicKey"]
            assert len(unb64(push_service.server_key)) == 65
        yield World(nodes, [directory / n / "data" for n in ("n1", "n2")], push_service)


async def subscribe(http: httpx.AsyncClient, who: User, push: PushService) -> Browser:
    browser = push.browser()
    body = {"endpoint": push.endpoint(browser), "keys": browser.keys(), "expirationTime": None}
    r = await http.post("/users/me/push-subscriptions", headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["subscription"]["endpoint"] == push.endpoint(browser)
    return browser


async def private(http: httpx.AsyncClient, a: User, b: User) -> str:
    r = await http.post(
        "/conversations", headers=a.headers, json={"type": "PRIVATE", "participantIds": [b.id]}
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["conversation"]["id"])


async def metric(http: httpx.AsyncClient, name: str) -> float:
    """The sum of a counter's samples on a node."""
    text = (await http.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


async def test_a_user_with_no_socket_is_pushed_what_the_rules_admit(world: World) -> None:
    push = world.push
    async with httpx.AsyncClient(base_url=world.nodes[0].base, timeout=10) as http:
        a, b = await register(http), await register(http)
        browser = await subscribe(http, b, push)
        direct = await private(http, a, b)
        team = await group(http, a, b)
        decided = await metric(http, 'hubbub_notifications_total{outcome="socket"}')
        sent = 0
        decided_before = await metric(http, "hubbub_notifier_decided_total")

        async def send(conversation: str, text: str, **fields: Any) -> dict[str, Any]:
            """Send, and wait until the notifier has decided on it: the rules are read
            when it decides, so a setting changed sooner could apply to this message."""
            nonlocal sent
            message = await http_send(http, a, conversation, text, **fields)
            sent += 1
            deadline = time.monotonic() + 10
            while await metric(http, "hubbub_notifier_decided_total") < decided_before + sent:
                assert time.monotonic() < deadline, f"not decided: {text!r}"
                await asyncio.sleep(0.01)
            return message

        # A direct message: pushed, signed, encrypted, with ids and a preview only.
        long = "hello " + "x" * 300
        first = await send(direct, long)
        [pushed] = await push.wait(browser, 1)
        assert pushed == {
            "type": "notification",
            "conversationId": direct,
            "messageId": first["id"],
            "seq": first["seq"],
            "senderId": a.id,
            "title": a.username,
            "body": pushed["body"],
            "mentioned": False,
        }
        assert pushed["body"].startswith("hello xxx")
        assert len(pushed["body"]) == 140

        # A group message without a mention: nothing (groups notify of mentions).
        await send(team, "for everyone, quietly")
        # A mention by name, and @all: pushed, titled with the group's name.
        named = await send(team, "@b look", mentions=[b.id])
        everyone = await send(team, "@all look", metadata={"mentionAll": True})

        async def settings(path: str, body: dict[str, Any]) -> None:
            r = await http.request(
                "PUT" if "conversations" in path else "PATCH", path, headers=b.headers, json=body
            )
            assert r.status_code == 200, r.text

        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        # Muted conversation, quiet hours now, paused: nothing each time.
        await settings(f"/conversations/{direct}/settings", {"mutedUntil": soon})
        await send(direct, "while muted")
        await settings(f"/conversations/{direct}/settings", {"mutedUntil": None})
        now = datetime.now(UTC)
        quiet = {
            "quietHoursStart": (now - timedelta(hours=1)).strftime("%H:%M"),
            "quietHoursEnd": (now + timedelta(hours=1)).strftime("%H:%M"),
            "timezone": "UTC",
        }
        await settings("/users/me/notifications", quiet)
        await send(direct, "in quiet hours")
        await settings("/users/me/notifications", {"quietHoursStart": None, "quietHoursEnd": None})
        await settings("/users/me/notifications", {"pausedUntil": soon})
        await send(direct, "while paused")
        await settings("/users/me/notifications", {"pausedUntil": None})

        # Every group message, chosen as a default, then for this group alone.
        await settings("/users/me/notifications", {"group": "all"})
        by_default = await send(team, "all of them, by default")
        await settings("/users/me/notifications", {"group": "mentions"})
        await settings(f"/conversations/{team}/settings", {"notificationLevel": "all"})
        by_choice = await send(team, "all of them, here")
        # A muted group: nothing, not even a mention; by its level, then for an hour.
        await settings(f"/conversations/{team}/settings", {"notificationLevel": "nothing"})
        await send(team, "@b in a muted group", mentions=[b.id])
        muted = {"notificationLevel": "all", "mutedUntil": soon}
        await settings(f"/conversations/{team}/settings", muted)
        await send(team, "@b in a group muted for an hour", mentions=[b.id])

        last = await send(direct, "back again")
        got = await push.wait(browser, 6)
        # The notifier decides in order: when the last is pushed, every earlier message
        # was decided, and exactly these six admitted.
        after = await metric(http, 'hubbub_notifications_total{outcome="socket"}')
        assert after - decided == 6
        ids = [p["messageId"] for p in got]
        pushed_ids = [first, named, everyone, by_default, by_choice, last]
        assert sorted(ids) == sorted(m["id"] for m in pushed_ids)
        by_id = {p["messageId"]: p for p in got}
        assert by_id[named["id"]]["title"] == f"{a.username} in team"
        assert by_id[named["id"]]["mentioned"] is True
        assert by_id[everyone["id"]]["mentioned"] is True


async def test_a_user_with_a_socket_hears_the_event_and_is_not_pushed(world: World) -> None:
    push, nodes = world.push, world.nodes
    other = nodes[-1]  # on PostgreSQL the second node: the event crosses
    async with (
        httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http,
        clients(other.base) as connect,
    ):
        a, c = await register(http), await register(http)
        browser = await subscribe(http, c, push)
        direct = await private(http, a, c)
        live: Client = await connect(c)
        sent = await http_send(http, a, direct, "are you there?")
        heard = await live.wait_for("notification", lambda d: d["messageId"] == sent["id"])
        assert heard == {
            "conversationId": direct,
            "messageId": sent["id"],
            "seq": sent["seq"],
            "senderId": a.id,
            "title": a.username,
            "body": "are you there?",
            "mentioned": False,
        }
        # Gone offline: the next one is pushed, and the first never was.
        await live.close()
        r = await http.get(f"/users/{c.id}", headers=a.headers)
        deadline = time.monotonic() + 10
        while r.json()["user"]["isOnline"]:
            assert time.monotonic() < deadline, "still online"
            await asyncio.sleep(0.05)
            r = await http.get(f"/users/{c.id}", headers=a.headers)
        later = await http_send(http, a, direct, "later")
        got = await push.wait(browser, 1)
        assert [p["messageId"] for p in got] == [later["id"]]


async def test_a_push_leaves_once_and_a_gone_subscription_is_deleted(world: World) -> None:
    push, nodes = world.push, world.nodes
    async with httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http:
        a, d, e = await register(http), await register(http), await register(http)
        browser = await subscribe(http, d, push)
        to_d = await private(http, a, d)
        for n in range(3):
            await http_send(http, a, to_d, f"one of three, {n}")
        await push.wait(browser, 3)
        last = await http_send(http, a, to_d, "the fourth")
        got = await push.wait(browser, 4)
        assert last["id"] in [p["messageId"] for p in got]
        assert len(got) == 4, got  # once, not once per node
        for server in nodes[1:]:
            async with httpx.AsyncClient(base_url=server.base, timeout=10) as other:
                assert await metric(other, "hubbub_web_pushes_total") == 0

        # The push service says the subscription is gone (410): it is deleted.
        expired = await subscribe(http, e, push)
        push.status[expired.name] = 410
        await http_send(http, a, await private(http, a, e), "anyone?")
        await push.wait(expired, 1)
        deadline = time.monotonic() + 10
        while True:
            r = await http.get("/users/me/push-subscriptions", headers=e.headers)
            if r.json() == {"subscriptions": []}:
                break
            assert time.monotonic() < deadline, r.text
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"endpoint": "http://push.example/abc"}, "https://"),
        ({"endpoint": "ftp://push.example/abc"}, "https://"),
        ({"endpoint": "not a url at all"}, "endpoint"),
        ({"keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"p256dh": b64(b"\x04" + b"1" * 40), "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "P-256"),
        ({"keys": {"p256dh": "PLACEHOLDER", "auth": b64(b"short")}}, "auth"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_a_bad_subscription_is_refused_and_nothing_is_kept(
    world: World, change: dict[str, Any], problem: str
) -> None:
    push = world.push
    async with httpx.AsyncClient(base_url=world.nodes[0].base, timeout=10) as http:
        u = await register(http)
        browser = push.browser()
        body: dict[str, Any] = {"endpoint": push.endpoint(browser), "keys": browser.keys()}
        body |= change
        if body["keys"].get("p256dh") == "PLACEHOLDER":
            body["keys"]["p256dh"] = browser.keys()["p256dh"]
        r = await http.post("/users/me/push-subscriptions", headers=u.headers, json=body)
        assert r.status_code == 422, r.text
        assert problem in r.json()["message"], r.json()
        listed = await http.get("/users/me/push-subscriptions", headers=u.headers)
        assert listed.json() == {"subscriptions": []}


async def test_subscriptions_are_listed_and_deleted_by_their_owner_only(world: World) -> None:
    push = world.push
    async with httpx.AsyncClient(base_url=world.nodes[0].base, timeout=10) as http:
        u, v = await register(http), await register(http)
        browser = await subscribe(http, u, push)
        listed = (await http.get("/users/me/push-subscriptions", headers=u.headers)).json()
        [mine] = listed["subscriptions"]
        assert mine["endpoint"] == push.endpoint(browser)
        assert set(mine) == {"id", "endpoint", "createdAt"}
        path = f"/users/me/push-subscriptions/{mine['id']}"
        assert (await http.delete(path, headers=v.headers)).status_code == 404
        assert (await http.delete(path, headers=u.headers)).status_code == 200
        assert (await http.delete(path, headers=u.headers)).status_code == 404
        listed = (await http.get("/users/me/push-subscriptions", headers=u.headers)).json()
        assert listed == {"subscriptions": []}
        assert (await http.get("/push/vapid-public-key")).status_code == 401


@pytest.mark.sqlite_only  # the PostgreSQL run's nodes share a key given by a setting
async def test_the_generated_vapid_key_is_kept_private(world: World) -> None:
    key_file = world.data_dirs[0] / "vapid.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    public = serialization.load_pem_private_key(key_file.read_bytes(), None).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    raw = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64(raw) == world.push.server_key


@pytest.fixture(scope="module")
def vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.fixture
def settings_overrides(vapid_pem: str) -> dict[str, Any]:
    return {"push_allow_insecure_loopback": True, "push_vapid_private_key": vapid_pem}


async def test_a_deleted_account_keeps_no_subscription(
    node: Node, client: httpx.AsyncClient, push_service: PushService
) -> None:
    u = await register(client)
    await subscribe(client, u, push_service)
    assert await count_rows(node, "push_subscriptions") == 1
    r = await client.request(
        "DELETE", "/users/me", headers=u.headers, json={"password": u.password}
    )
    assert r.status_code == 200, r.text
    assert await count_rows(node, "push_subscriptions") == 0

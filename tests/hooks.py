"""A real webhook receiver for the outgoing webhook tests: an aiohttp server on the
loopback that checks every delivery's signature with the SDK's helper
(`hubbub.client.webhooks.read_event`) and records what came, in arrival order.

Each endpoint (`/hook/{name}`) has its own secret (given once the subscription is made),
status to answer, optional reply, and a gate a test may close to hold requests open.
The server can be stopped and started again on the same port (the receiver down).
Beside it: the settings a server needs to call it (`HOOK_ENV`), subscribing an account
to it (`subscribe`) and reading a subscription's delivery log (`log_of`, `wait_log`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from aiohttp import web

from hubbub.client.webhooks import InvalidSignature, read_event
from tests.gw import User, free_port


@dataclass
class Endpoint:
    name: str
    secret: str = ""
    status: int = 200
    reply: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate.set()

    def first_arrivals(self) -> list[dict[str, Any]]:
        """Each event once, in the order it first came (a retry may repeat one)."""
        seen: dict[str, dict[str, Any]] = {}
        for event in self.received:
            seen.setdefault(event["id"], event)
        return list(seen.values())


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoints: dict[str, Endpoint] = {}
        self.problems: list[str] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    def endpoint(self, name: str) -> Endpoint:
        return self.endpoints.setdefault(name, Endpoint(name))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{name}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        endpoint = self.endpoint(request.match_info["name"])
        body = await request.read()
        try:
            event = read_event(endpoint.secret, body, dict(request.headers))
        except InvalidSignature as exc:  # told to the test, which fails on any
            self.problems.append(f"{endpoint.name}: {exc}")
            self._changed.set()
            return web.Response(status=401)
        payload: dict[str, Any] = orjson.loads(body)
        if request.headers.get("X-Hubbub-Event-Id") != str(event.id):
            self.problems.append(f"{endpoint.name}: the event id header is not the body's")
        endpoint.received.append(payload)
        endpoint.headers.append(dict(request.headers))
        self._changed.set()
        await endpoint.gate.wait()
        answer = endpoint.reply(payload) if endpoint.reply is not None else None
        if answer is None:
            return web.Response(status=endpoint.status)
        return web.json_response(answer, status=endpoint.status)

    async def wait(
        self, name: str, ready: Callable[[Endpoint], bool], within: float = 20.0
    ) -> Endpoint:
        endpoint = self.endpoint(name)
        deadline = time.monotonic() + within
        while not ready(endpoint):
            assert not self.problems, self.problems
            left = deadline - time.monotonic()
            assert left > 0, f"{name}: {[e.get('type') for e in endpoint.received]}"
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
        assert not self.problems, self.problems
        return endpoint


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    """A receiver started for the block, stopped after it."""
    made = Receiver()
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


HOOK_ENV = {
    # The receiver is on the loopback, which the server refuses unless allowed.
    "HUBBUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    "HUBBUB_WEBHOOK_POLL_S": "0.2",
    "HUBBUB_WEBHOOK_BACKOFF_S": "0.2",
    "HUBBUB_WEBHOOK_BACKOFF_MAX_S": "1",
    "HUBBUB_WEBHOOK_MAX_ATTEMPTS": "4",
    "HUBBUB_WEBHOOK_TIMEOUT_S": "2",
}


async def subscribe(
    http: httpx.AsyncClient, who: User, receiver: Receiver, name: str, events: list[str]
) -> tuple[str, Endpoint]:
    r = await http.post(
        "/users/me/event-subscriptions",
        headers=who.headers,
        json={"url": receiver.url(name), "events": events},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_")
    assert body["subscription"]["events"] == events
    endpoint = receiver.endpoint(name)
    endpoint.secret = body["secret"]
    return str(body["subscription"]["id"]), endpoint


async def log_of(http: httpx.AsyncClient, who: User, sid: str) -> list[dict[str, Any]]:
    r = await http.get(f"/users/me/event-subscriptions/{sid}/deliveries", headers=who.headers)
    assert r.status_code == 200, r.text
    deliveries: list[dict[str, Any]] = r.json()["deliveries"]
    return deliveries


async def wait_log(
    http: httpx.AsyncClient,
    who: User,
    sid: str,
    ready: Callable[[list[dict[str, Any]]], bool],
    within: float = 20.0,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        log = await log_of(http, who, sid)
        if ready(log):
            return log
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.2)


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["message"]["seq"]) for e in events]

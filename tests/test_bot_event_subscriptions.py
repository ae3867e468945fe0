"""A bot's outgoing webhooks managed by its owner (`/bots/{id}/event-subscriptions`) on
real `hubbub serve` nodes, delivering to a real receiver on the loopback (`tests.hooks`):
the subscription is the bot's own (its token sees it, its events carry its id), the
owner reads its delivery log, with a failure and its error when the endpoint is down;
anyone else gets 404 and bad input changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import Server, User, cluster, free_port, register
from tests.hooks import HOOK_ENV, Receiver, running_receiver

Log = list[dict[str, Any]]


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as made:
        yield made


@pytest.fixture(scope="module")
async def nodes(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[Server]]:
    async with cluster(backend, tmp_path_factory.mktemp("bot-hooks"), HOOK_ENV) as made:
        yield made


async def make_bot(http: httpx.AsyncClient, owner: User) -> str:
    r = await http.post("/bots", headers=owner.headers, json={"username": f"b{owner.username}"})
    assert r.status_code == 201, r.text
    return str(r.json()["bot"]["user"]["id"])


async def wait_bot_log(
    http: httpx.AsyncClient, owner: User, path: str, ready: Callable[[Log], bool]
) -> Log:
    deadline = time.monotonic() + 20
    while True:
        r = await http.get(f"{path}/deliveries", headers=owner.headers)
        assert r.status_code == 200, r.text
        log: Log = r.json()["deliveries"]
        if ready(log):
            return log
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.2)


async def test_the_owner_manages_a_bots_subscriptions_and_reads_its_log(
    nodes: list[Server], receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http:
        owner = await register(http)
        bot_id = await make_bot(http, owner)
        base = f"/bots/{bot_id}/event-subscriptions"
        r = await http.post(
            base,
            headers=owner.headers,
            json={"url": receiver.url("bot-ok"), "events": ["mention"]},
        )
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["secret"].startswith("whsec_")
        assert made["subscription"]["events"] == ["mention"]
        sid = made["subscription"]["id"]
        endpoint = receiver.endpoint("bot-ok")
        endpoint.secret = made["secret"]

        r = await http.get(base, headers=owner.headers)
        assert [s["id"] for s in r.json()["subscriptions"]] == [sid]
        # It is the bot's: its own token lists it; the owner's own list does not.
        r = await http.post(
            f"/bots/{bot_id}/tokens",
            headers=owner.headers,
            json={"name": "t", "scopes": ["read"]},
        )
        assert r.status_code == 201, r.text
        as_bot = {"Authorization": f"Bearer {r.json()['secret']}"}
        r = await http.get("/users/me/event-subscriptions", headers=as_bot)
        assert [s["id"] for s in r.json()["subscriptions"]] == [sid]
        r = await http.get("/users/me/event-subscriptions", headers=owner.headers)
        assert r.json()["subscriptions"] == []

        r = await http.post(f"{base}/{sid}/test", headers=owner.headers)
        assert r.status_code == 202, r.text
        ping = r.json()["delivery"]
        assert (ping["event"], ping["status"]) == ("ping", "pending")
        await receiver.wait("bot-ok", lambda e: len(e.received) == 1)
        assert endpoint.received[0]["accountId"] == bot_id
        assert endpoint.received[0]["id"] == ping["id"]
        log = await wait_bot_log(
            http, owner, f"{base}/{sid}", lambda d: d[0]["status"] == "delivered"
        )
        assert [(x["id"], x["attempts"], x["lastError"]) for x in log] == [(ping["id"], 1, None)]

        # An endpoint no one listens on: the log shows the failure and its error.
        closed = f"http://127.0.0.1:{free_port()}/hook/none"
        r = await http.post(
            base, headers=owner.headers, json={"url": closed, "events": ["mention"]}
        )
        assert r.status_code == 201, r.text
        down = r.json()["subscription"]["id"]
        r = await http.post(f"{base}/{down}/test", headers=owner.headers)
        assert r.status_code == 202, r.text
        failed = lambda d: d[0]["lastError"] is not None  # noqa: E731
        log = await wait_bot_log(http, owner, f"{base}/{down}", failed)
        assert log[0]["status"] in ("pending", "dead")
        assert log[0]["attempts"] >= 1
        r = await http.get(f"{base}/{down}/deliveries?status=delivered", headers=owner.headers)
        assert r.json()["deliveries"] == []

        r = await http.delete(f"{base}/{down}", headers=owner.headers)
        assert r.status_code == 200, r.text
        r = await http.get(base, headers=owner.headers)
        assert [s["id"] for s in r.json()["subscriptions"]] == [sid]


async def test_anyone_else_gets_404_and_bad_input_stores_nothing(
    nodes: list[Server], receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=nodes[0].base, timeout=10) as http:
        owner, other = await register(http), await register(http)
        bot_id = await make_bot(http, owner)
        base = f"/bots/{bot_id}/event-subscriptions"
        good = {"url": receiver.url("bot-private"), "events": ["mention"]}
        r = await http.post(base, headers=owner.headers, json=good)
        assert r.status_code == 201, r.text
        sid = r.json()["subscription"]["id"]

        for method, path, body in (
            ("GET", base, None),
            ("POST", base, good),
            ("DELETE", f"{base}/{sid}", None),
            ("GET", f"{base}/{sid}/deliveries", None),
            ("POST", f"{base}/{sid}/test", None),
        ):
            r = await http.request(method, path, headers=other.headers, json=body)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["code"] == "bot_not_found"
        # The owner asking for a subscription not the bot's: the subscription's 404.
        mine = await http.post("/users/me/event-subscriptions", headers=owner.headers, json=good)
        assert mine.status_code == 201, mine.text
        theirs = mine.json()["subscription"]["id"]
        r = await http.post(f"{base}/{theirs}/test", headers=owner.headers)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "subscription_not_found"

        # A value not among the allowed ones is a 400 (as everywhere); the rest 422.
        for bad, status in (
            ({"url": "ftp://example.com/hook", "events": ["mention"]}, 422),
            ({"url": receiver.url("bot-private"), "events": []}, 422),
            ({"url": receiver.url("bot-private"), "events": ["no_such_event"]}, 400),
            ({"url": "http://10.1.2.3/hook", "events": ["mention"]}, 422),
        ):
            r = await http.post(base, headers=owner.headers, json=bad)
            assert r.status_code == status, (bad, r.text)
        r = await http.get(base, headers=owner.headers)
        assert [s["id"] for s in r.json()["subscriptions"]] == [sid]

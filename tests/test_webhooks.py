"""Outgoing webhooks end to end: real `hubbub serve` nodes deliver signed events to a
real receiver on the loopback (`tests.hooks`), which checks every signature with the
SDK's helper. On the PostgreSQL run two nodes share the database and both run the
worker: each event still arrives once while the receiver is up, in order per
conversation. The receiver answering errors, or down altogether, delays deliveries
(retries with backoff, the order kept) and a delivery that always fails ends dead; the
log (`GET .../deliveries`) says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import Server, cluster, group, http_send, register
from tests.hooks import HOOK_ENV, Receiver, running_receiver, seqs, subscribe, wait_log


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as made:
        yield made


@dataclass
class World:
    nodes: list[Server]
    receiver: Receiver

    def http(self, i: int = 0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.nodes[i % len(self.nodes)].base, timeout=10)


@pytest.fixture(scope="module")
async def world(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> AsyncIterator[World]:
    async with cluster(backend, tmp_path_factory.mktemp("hooks"), HOOK_ENV) as nodes:
        yield World(nodes, receiver)


async def test_events_arrive_signed_once_each_in_order(world: World) -> None:
    async with world.http(0) as a, world.http(1) as b:
        bot, human = await register(a), await register(a)
        cid = await group(a, human, bot)
        sid, endpoint = await subscribe(a, bot, world.receiver, "all", ["new_message"])
        sent = []
        for i in range(8):  # both nodes send, on the PostgreSQL run
            sent.append(await http_send(a if i % 2 else b, human, cid, f"m{i}"))
        # The account's own messages are never delivered to it.
        await http_send(a, bot, cid, "from the bot itself")
        sent.append(await http_send(b, human, cid, "last"))
        await world.receiver.wait("all", lambda e: len(e.first_arrivals()) >= len(sent))
        await asyncio.sleep(0.5)  # time for an extra delivery, if there were one
        events = endpoint.received
        assert len(events) == len(sent), "the receiver was up: each event came once"
        assert seqs(events) == [m["seq"] for m in sent]
        assert [e["message"]["content"] for e in events] == [m["content"] for m in sent]
        assert {e["type"] for e in events} == {"new_message"}
        assert {e["accountId"] for e in events} == {bot.id}
        assert {e["conversation"]["id"] for e in events} == {cid}
        assert len({e["id"] for e in events}) == len(events)
        for headers, event in zip(endpoint.headers, events, strict=True):
            assert headers["X-Hubbub-Event"] == event["type"]
            assert headers["X-Hubbub-Event-Id"] == event["id"]
        log = await wait_log(a, bot, sid, lambda d: all(x["status"] == "delivered" for x in d))
        assert sorted(x["seq"] for x in log) == [m["seq"] for m in sent]
        assert {(x["attempts"], x["lastError"]) for x in log} == {(1, None)}


async def test_a_subscription_gets_only_the_events_it_asked_for(world: World) -> None:
    async with world.http(0) as http:
        bot, human = await register(http), await register(http)
        cid = await group(http, human, bot)
        _, endpoint = await subscribe(http, bot, world.receiver, "picky", ["mention", "direct"])
        await http_send(http, human, cid, "not for the bot")
        await http_send(http, human, cid, "hey bot", mentions=[bot.id])
        r = await http.post(
            "/conversations",
            headers=human.headers,
            json={"type": "PRIVATE", "participantIds": [bot.id]},
        )
        assert r.status_code in (200, 201), r.text
        direct = str(r.json()["conversation"]["id"])
        await http_send(http, human, direct, "just us")
        await world.receiver.wait("picky", lambda e: len(e.received) >= 2)
        await http_send(http, human, cid, "after", mentions=[bot.id])
        await world.receiver.wait("picky", lambda e: len(e.received) >= 3)
        got = sorted(
            (e["type"], e["conversation"]["id"], e["message"]["content"]) for e in endpoint.received
        )
        assert got == sorted(
            [
                ("mention", cid, "hey bot"),
                ("direct", direct, "just us"),
                ("mention", cid, "after"),
            ]
        )


async def test_a_reply_in_the_answer_is_posted_as_the_account(world: World) -> None:
    async with world.http(0) as http:
        bot, human = await register(http), await register(http)
        cid = await group(http, human, bot)
        _, endpoint = await subscribe(http, bot, world.receiver, "echo", ["new_message"])
        endpoint.reply = lambda event: {"content": "echo: " + event["message"]["content"]}
        await http_send(http, human, cid, "hello")
        await world.receiver.wait("echo", lambda e: len(e.received) >= 1)
        deadline = time.monotonic() + 10
        while True:
            r = await http.get(f"/conversations/{cid}/messages", headers=human.headers)
            assert r.status_code == 200, r.text
            replies = [m for m in r.json()["messages"] if m["senderId"] == bot.id]
            if replies:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        assert [m["content"] for m in replies] == ["echo: hello"]
        await asyncio.sleep(0.6)
        # The bot's own reply is not delivered back to it (no loop).
        assert [e["message"]["content"] for e in endpoint.received] == ["hello"]


async def test_errors_are_retried_in_order_then_a_delivery_dies(world: World) -> None:
    async with world.http(0) as http:
        bot, human = await register(http), await register(http)
        cid = await group(http, human, bot)
        sid, endpoint = await subscribe(http, bot, world.receiver, "flaky", ["new_message"])
        endpoint.status = 503
        sent = [await http_send(http, human, cid, f"m{i}") for i in range(3)]
        log = await wait_log(
            http, bot, sid, lambda d: any(x["attempts"] >= 2 for x in d) and len(d) == 3
        )
        first = min(log, key=lambda x: x["seq"])
        assert first["status"] == "pending"
        assert first["lastError"] == "HTTP 503"
        # Later ones wait behind the first: none was tried.
        assert [x["attempts"] for x in log if x["seq"] != first["seq"]] == [0, 0]
        assert {e["message"]["seq"] for e in endpoint.received} == {first["seq"]}
        endpoint.status = 200
        await world.receiver.wait("flaky", lambda e: len(e.first_arrivals()) == 3)
        assert seqs(endpoint.first_arrivals()) == [m["seq"] for m in sent]
        # Every arrival in order: retries of one event come before the next event.
        assert seqs(endpoint.received) == sorted(seqs(endpoint.received))
        await wait_log(http, bot, sid, lambda d: all(x["status"] == "delivered" for x in d))

        endpoint.status = 500
        doomed = await http_send(http, human, cid, "never taken")
        log = await wait_log(
            http, bot, sid, lambda d: any(x["status"] == "dead" for x in d), within=30
        )
        dead = next(x for x in log if x["status"] == "dead")
        assert (dead["seq"], dead["attempts"], dead["lastError"]) == (doomed["seq"], 4, "HTTP 500")
        assert dead["nextAttemptAt"] is None
        r = await http.get(
            f"/users/me/event-subscriptions/{sid}/deliveries?status=dead", headers=bot.headers
        )
        assert [x["id"] for x in r.json()["deliveries"]] == [dead["id"]]
        # A dead delivery does not hold the next one back.
        endpoint.status = 200
        after = await http_send(http, human, cid, "after the dead one")
        await world.receiver.wait("flaky", lambda e: after["seq"] in seqs(e.received), within=20)


async def test_a_receiver_down_for_a_while_gets_everything_in_order(world: World) -> None:
    down = Receiver()  # not started: connections are refused
    try:
        async with world.http(0) as http:
            bot, human = await register(http), await register(http)
            cid = await group(http, human, bot)
            sid, endpoint = await subscribe(http, bot, down, "late", ["new_message"])
            sent = [await http_send(http, human, cid, f"m{i}") for i in range(4)]
            log = await wait_log(http, bot, sid, lambda d: any(x["attempts"] >= 2 for x in d))
            failing = next(x for x in log if x["attempts"] >= 2)
            assert failing["lastError"].startswith("ConnectError"), failing
            await down.start()
            await down.wait("late", lambda e: len(e.first_arrivals()) == 4)
            assert seqs(endpoint.first_arrivals()) == [m["seq"] for m in sent]
    finally:
        await down.stop()


async def test_ping_log_and_delete(world: World) -> None:
    async with world.http(0) as http:
        bot, other = await register(http), await register(http)
        sid, endpoint = await subscribe(http, bot, world.receiver, "ping", ["mention"])
        r = await http.post(f"/users/me/event-subscriptions/{sid}/test", headers=bot.headers)
        assert r.status_code == 202, r.text
        ping = r.json()["delivery"]
        assert (ping["event"], ping["status"], ping["attempts"]) == ("ping", "pending", 0)
        await world.receiver.wait("ping", lambda e: len(e.received) == 1)
        assert endpoint.received[0]["type"] == "ping"
        assert endpoint.received[0]["id"] == ping["id"]
        log = await wait_log(http, bot, sid, lambda d: d[0]["status"] == "delivered")
        assert [x["id"] for x in log] == [ping["id"]]
        r = await http.get("/users/me/event-subscriptions", headers=bot.headers)
        assert [s["id"] for s in r.json()["subscriptions"]] == [sid]
        # Another account sees none of it.
        for method, path in (
            ("GET", f"/users/me/event-subscriptions/{sid}/deliveries"),
            ("POST", f"/users/me/event-subscriptions/{sid}/test"),
            ("DELETE", f"/users/me/event-subscriptions/{sid}"),
        ):
            r = await http.request(method, path, headers=other.headers)
            assert r.status_code == 404, r.text
            assert r.json()["code"] == "subscription_not_found"
        r = await http.delete(f"/users/me/event-subscriptions/{sid}", headers=bot.headers)
        assert r.status_code == 200, r.text
        r = await http.get("/users/me/event-subscriptions", headers=bot.headers)
        assert r.json()["subscriptions"] == []
        r = await http.post(f"/users/me/event-subscriptions/{sid}/test", headers=bot.headers)
        assert r.status_code == 404, r.text


async def test_a_closed_account_gets_nothing_more(world: World) -> None:
    async with world.http(0) as http:
        bot, other_bot, human = await register(http), await register(http), await register(http)
        cid = await group(http, human, bot, other_bot)
        sid, endpoint = await subscribe(http, bot, world.receiver, "closing", ["new_message"])
        _, control = await subscribe(http, other_bot, world.receiver, "control", ["new_message"])
        endpoint.status = 503
        await http_send(http, human, cid, "while failing")
        await wait_log(http, bot, sid, lambda d: any(x["attempts"] >= 1 for x in d))
        r = await http.request(
            "DELETE", "/users/me", headers=bot.headers, json={"password": bot.password}
        )
        assert r.status_code == 200, r.text
        # An attempt already claimed may still be on its way (the timeout is 2 s).
        await asyncio.sleep(2.5)
        tried = len(endpoint.received)
        endpoint.status = 200
        await http_send(http, human, cid, "after the bot left")
        await world.receiver.wait(
            "control",
            lambda e: "after the bot left" in [m["message"]["content"] for m in e.received],
        )
        await asyncio.sleep(1.5)  # past the failed delivery's next attempt
        assert len(endpoint.received) == tried
        # The other bot heard all of it, the departure (a SYSTEM message) too.
        assert [(e["message"]["type"], e["message"]["content"]) for e in control.received] == [
            ("TEXT", "while failing"),
            ("SYSTEM", "Deleted user left"),
            ("TEXT", "after the bot left"),
        ]


async def test_an_endpoint_that_does_not_answer_in_time_is_tried_again(world: World) -> None:
    async with world.http(0) as http:
        bot, human = await register(http), await register(http)
        cid = await group(http, human, bot)
        sid, endpoint = await subscribe(http, bot, world.receiver, "slow", ["new_message"])
        endpoint.gate.clear()  # holds every request open, past the 2 s timeout
        sent = await http_send(http, human, cid, "are you awake?")
        log = await wait_log(http, bot, sid, lambda d: bool(d) and d[0]["lastError"] is not None)
        assert log[0]["status"] == "pending"
        assert log[0]["lastError"].startswith(("ReadTimeout", "no answer within 2 s")), log[0]
        endpoint.gate.set()
        await wait_log(http, bot, sid, lambda d: d[0]["status"] == "delivered")
        assert {e["message"]["seq"] for e in endpoint.received} == {sent["seq"]}

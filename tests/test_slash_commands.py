"""Slash commands end to end: `/name args` in a conversation where an account registered
`name` goes to that account's endpoint (a real receiver, signatures checked) instead of
being posted; the answer is posted as the account, or shown to the caller only as the
socket event `command_reply`. Real `hubbub serve` nodes (two on PostgreSQL), real sockets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import User, clients, cluster, group, http_send, register
from tests.hooks import HOOK_ENV, Receiver, subscribe


@pytest.fixture(scope="module")
async def setting(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[list[str], Receiver]]:
    receiver = Receiver()
    await receiver.start()
    try:
        async with cluster(backend, tmp_path_factory.mktemp("commands"), HOOK_ENV) as nodes:
            yield [n.base for n in nodes], receiver
    finally:
        await receiver.stop()


async def register_command(
    http: httpx.AsyncClient, who: User, cid: str, name: str
) -> httpx.Response:
    return await http.post(
        f"/conversations/{cid}/commands",
        headers=who.headers,
        json={"name": name, "description": f"the {name} command"},
    )


async def messages(http: httpx.AsyncClient, who: User, cid: str) -> list[dict[str, Any]]:
    r = await http.get(f"/conversations/{cid}/messages", headers=who.headers)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["messages"]
    return found


async def test_a_command_goes_to_its_account_and_the_answer_is_posted(
    setting: tuple[list[str], Receiver],
) -> None:
    bases, receiver = setting
    async with httpx.AsyncClient(base_url=bases[-1], timeout=10) as http:
        bot, human = await register(http), await register(http)
        cid = await group(http, human, bot)
        _, endpoint = await subscribe(http, bot, receiver, "weather", ["command"])
        endpoint.reply = lambda e: {"content": f"Sunny in {e['command']['args']}"}
        r = await register_command(http, bot, cid, "weather")
        assert r.status_code == 201, r.text
        assert r.json()["command"]["userId"] == bot.id
        r = await http.get(f"/conversations/{cid}/commands", headers=human.headers)
        assert [(c["name"], c["userId"]) for c in r.json()["commands"]] == [("weather", bot.id)]

        r = await http.post(
            f"/conversations/{cid}/messages",
            headers=human.headers,
            json={"content": "/weather Paris"},
        )
        assert r.status_code == 202, r.text
        accepted = r.json()["command"]
        assert (accepted["name"], accepted["args"]) == ("weather", "Paris")
        await receiver.wait("weather", lambda e: len(e.received) == 1)
        event = endpoint.received[0]
        assert event["id"] == accepted["eventId"]
        assert event["type"] == "command"
        assert event["conversation"]["id"] == cid
        assert event["command"] == {
            "name": "weather",
            "args": "Paris",
            "callerId": human.id,
            "callerName": human.username,
        }
        deadline = time.monotonic() + 10
        while not [m for m in await messages(http, human, cid) if m["senderId"] == bot.id]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        shown = [(m["senderId"], m["content"]) for m in await messages(http, human, cid)]
        assert shown == [(bot.id, "Sunny in Paris")], "the command itself is not posted"
        # A name nobody registered here is a message like any other.
        posted = await http_send(http, human, cid, "/shrug whatever")
        assert posted["content"] == "/shrug whatever"


async def test_an_ephemeral_answer_reaches_the_caller_only(
    setting: tuple[list[str], Receiver],
) -> None:
    bases, receiver = setting
    async with httpx.AsyncClient(base_url=bases[0], timeout=10) as http:
        bot, human, other = await register(http), await register(http), await register(http)
        cid = await group(http, human, bot, other)
        _, endpoint = await subscribe(http, bot, receiver, "secret", ["command"])
        endpoint.reply = lambda e: {"content": "only for you", "ephemeral": True}
        assert (await register_command(http, bot, cid, "whisper")).status_code == 201
        async with clients(bases[-1]) as connect:
            caller = await connect(human)
            onlooker = await connect(other)
            ack = await caller.call(
                "send_message",
                {"conversationId": cid, "content": "/whisper hi", "optimisticId": "w1"},
            )
            assert ack["ok"] is True, ack
            assert ack["command"]["name"] == "whisper"
            reply = await caller.wait_for("command_reply")
            assert reply == {
                "conversationId": cid,
                "eventId": ack["command"]["eventId"],
                "name": "whisper",
                "content": "only for you",
            }
            await onlooker.barrier()
            await asyncio.sleep(0.5)
            assert onlooker.named("command_reply") == []
            assert onlooker.named("new_message") == []
        assert await messages(http, human, cid) == []


async def test_who_may_register_use_and_remove_a_command(
    setting: tuple[list[str], Receiver],
) -> None:
    bases, receiver = setting
    async with httpx.AsyncClient(base_url=bases[0], timeout=10) as http:
        bot, human, outsider = await register(http), await register(http), await register(http)
        cid = await group(http, human, bot)
        r = await register_command(http, outsider, cid, "roll")
        assert r.status_code == 404, r.text
        assert (await register_command(http, bot, cid, "roll")).status_code == 201
        r = await register_command(http, human, cid, "roll")
        assert (r.status_code, r.json()["code"]) == (409, "command_taken")
        # The bot has no endpoint for commands yet: the caller is told, nothing posted.
        r = await http.post(
            f"/conversations/{cid}/messages", headers=human.headers, json={"content": "/roll"}
        )
        assert (r.status_code, r.json()["code"]) == (409, "command_unavailable")
        r = await http.post(
            f"/conversations/{cid}/messages", headers=outsider.headers, json={"content": "/roll"}
        )
        assert r.status_code == 404, r.text
        r = await http.delete(f"/conversations/{cid}/commands/roll", headers=human.headers)
        assert r.status_code == 403, r.text
        r = await http.delete(f"/conversations/{cid}/commands/roll", headers=bot.headers)
        assert r.status_code == 200, r.text
        posted = await http_send(http, human, cid, "/roll")
        assert posted["content"] == "/roll"
        assert await messages(http, human, cid) != []
        assert receiver.endpoints.get("roll") is None

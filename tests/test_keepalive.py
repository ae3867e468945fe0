"""Engine.IO's keep-alive, served for every socket by one task and a ping wheel
(edge/socket/keepalive.py), against a real `hubbub serve` pinging every second: the open
packet announces the settings, a socket that answers its pings (over WebSocket or
long-polling) stays, one that does not is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from hubbub.edge.socket.keepalive import PingWheel
from tests.conftest import Backend
from tests.gw import Server, clients, group, register, serving
from tests.raw import NS, RawSocket

INTERVAL_S = 1
TIMEOUT_S = 2


# The wheel alone ------------------------------------------------------------------------


def test_a_socket_is_due_once_its_interval_has_passed_and_not_before() -> None:
    wheel = PingWheel(25.0, tick_s=1.0)
    wheel.schedule("a", "socket a", now=100.2)  # due at 125.2, served from tick 126
    assert wheel.take_due(now=125.2) == []
    assert wheel.take_due(now=125.99) == []
    assert wheel.take_due(now=126.0) == ["socket a"]
    assert wheel.take_due(now=500.0) == []
    assert len(wheel) == 0


def test_due_sockets_come_oldest_first_and_a_new_schedule_replaces_the_old() -> None:
    wheel = PingWheel(10.0, tick_s=1.0)
    wheel.schedule("c", "C", now=5.0)
    wheel.schedule("a", "A", now=0.0)
    wheel.schedule("b", "B", now=2.0)
    wheel.schedule("a", "A", now=30.0)  # answered again: its earlier due time is gone
    assert len(wheel) == 3
    assert wheel.take_due(now=20.0) == ["B", "C"]
    assert wheel.take_due(now=39.0) == []
    assert wheel.take_due(now=40.0) == ["A"]


def test_a_forgotten_socket_is_never_due_and_not_held() -> None:
    wheel = PingWheel(1.0, tick_s=0.5)
    wheel.schedule("a", "A", now=0.0)
    wheel.schedule("b", "B", now=0.0)
    wheel.forget("a")
    wheel.forget("never scheduled")
    assert len(wheel) == 1
    assert wheel.take_due(now=10.0) == ["B"]
    wheel.schedule("c", "C", now=0.0)
    wheel.forget("c")
    assert wheel.take_due(now=10.0) == []
    assert len(wheel) == 0


# A real server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    settings = {
        "HUBBUB_SOCKET_PING_INTERVAL_S": str(INTERVAL_S),
        "HUBBUB_SOCKET_PING_TIMEOUT_S": str(TIMEOUT_S),
    }
    async with serving(backend, tmp_path_factory.mktemp("keepalive"), settings) as srv:
        yield srv


@pytest.fixture(scope="module")
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as h:
        yield h


async def test_a_socket_that_answers_is_pinged_again_and_again_and_stays(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await register(http)
    raw = await RawSocket.open(server.base)
    try:
        opening = json.loads(raw.opening[1:])
        assert opening["pingInterval"] == INTERVAL_S * 1000, opening
        assert opening["pingTimeout"] == TIMEOUT_S * 1000, opening
        answer = await raw.connect(user.token)
        assert isinstance(answer, str), answer
        assert answer.startswith(f"40{NS},"), answer
        pings = 0
        loop = asyncio.get_running_loop()
        until = loop.time() + 6 * INTERVAL_S
        while (left := until - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(raw.ws.recv(), left)
            except TimeoutError:
                break
            if data == "2":
                pings += 1
                await raw.frame("3")
        # Due every interval, served within a tick (0.5 s) of it.
        assert pings >= 3, pings
        # Still open and served after all those rounds.
        ack = await raw.call("sync", {"conversations": {}})
        assert ack == {"ok": True, "conversations": {}, "removed": []}, ack
    finally:
        await raw.close()


async def test_a_socket_that_does_not_answer_its_ping_is_closed(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await register(http)
    raw = await RawSocket.open(server.base)
    answering = await RawSocket.open(server.base)
    try:
        assert isinstance(await raw.connect(user.token), str)
        assert isinstance(await answering.connect(user.token), str)
        # The user's other socket answers its pings all along, from now on: left unread
        # while `raw` is waited for, it would miss its first ping's deadline too.
        answering_meanwhile = asyncio.create_task(
            answering.closed(within=INTERVAL_S + TIMEOUT_S + 10)
        )
        received: list[str | bytes] = []
        closed = False
        try:
            async with asyncio.timeout(INTERVAL_S + TIMEOUT_S + 10):
                while True:
                    received.append(await raw.ws.recv())  # pings left unanswered
        except ConnectionClosed:
            closed = True
        assert "2" in received, received
        assert closed, f"still open; received {received}"
        # The one that answers was not closed meanwhile, stays open and is still served.
        if answering_meanwhile.done():
            assert answering_meanwhile.result() is False, "the answering socket was closed"
        answering_meanwhile.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await answering_meanwhile
        assert not await answering.closed(within=2 * INTERVAL_S)
        ack = await answering.call("sync", {"conversations": {}})
        assert ack["ok"] is True, ack
    finally:
        await raw.close()
        await answering.close()


async def test_a_long_polling_client_stays_connected_across_ping_rounds(
    server: Server, http: httpx.AsyncClient
) -> None:
    alice, bob = await register(http), await register(http)
    cid = await group(http, alice, bob)
    async with clients(server.base) as connect:
        polling = await connect(bob, transports=["polling"])
        sender = await connect(alice)
        assert polling.sio.eio.current_transport == "polling"
        await asyncio.sleep(5 * INTERVAL_S)  # several ping rounds over long-polling
        assert not polling.disconnected
        message = await sender.send(cid, "still there?")
        got = await polling.wait_for("new_message", lambda d: d["message"]["id"] == message["id"])
        assert got["message"]["content"] == "still there?"

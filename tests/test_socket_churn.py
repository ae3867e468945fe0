"""Connection churn leaves nothing behind: sockets connect, send a little and close, cycle
after cycle, against a real `hubbub serve`, and every table the node keeps per session
or socket falls back to where it started (README, Security: Sockets).

The node reports each table on /metrics (`hubbub_socket_table_entries{table=…}`):
Engine.IO sessions, python-socketio's environs and sockets, sessions not yet connected
or being closed, the hub's sockets, the per-socket event budgets, the gateway's tasks,
typing and presence timers, and every task of the loop. Besides sockets that chat, each
cycle has some that close in the middle of their handshake (over WebSocket and over
long-polling), are refused, stay idle until the connect timeout, or are closed for a
binary packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import Server, User, group, register, serving
from tests.raw import NS, RawSocket

CYCLES = 3
SOCKETS_PER_CYCLE = 200
AT_ONCE = 20
USERS = 4
# Per user, not per socket: a user's send budget stays until it is full again.
NOT_PER_SOCKET = {"user_budgets"}


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    settings = {"HUBBUB_SOCKET_CONNECT_TIMEOUT_S": "1"}
    async with serving(
        backend,
        tmp_path_factory.mktemp("socket-churn"),
        settings,
        typing_ttl_s=0.3,
        presence_grace_s=0.1,
    ) as srv:
        yield srv


async def tables(http: httpx.AsyncClient) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("hubbub_socket_table_entries{"):
            labels, value = line.rsplit(" ", 1)
            table = labels.split('table="', 1)[1].split('"', 1)[0]
            if table not in NOT_PER_SOCKET:
                found[table] = float(value)
    return found


async def settled(
    http: httpx.AsyncClient, expected: dict[str, float] | None, within: float = 15.0
) -> dict[str, float]:
    """The tables once none holds more than in `expected` (or, with None, once no socket
    is left, no timer armed and no unread count pending), or as they are when `within`
    seconds have passed."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        now = await tables(http)
        if expected is None:
            idle = ("hub_sockets", "unconnected_sessions", "typing_timers", "offline_timers")
            # Unread counts waiting for their coalesced flush are work in progress.
            if all(now.get(t) == 0 for t in idle) and not now.get("unread_pending"):
                return now
        elif not _grown(expected, now):
            return now
        if asyncio.get_running_loop().time() > deadline:
            return now
        await asyncio.sleep(0.2)


def _grown(start: dict[str, float], now: dict[str, float]) -> dict[str, tuple[float, float]]:
    """The tables holding more than at the start: (start, now). One holding less (a
    background task or a pending flush that has finished since) kept nothing."""
    return {t: (start.get(t, 0.0), v) for t, v in now.items() if v > start.get(t, 0.0)}


async def chat(raw: RawSocket, user: User, cid: str) -> None:
    await raw.connect(user.token)
    await raw.call("typing", {"conversationId": cid}, ack_id=1)
    send = {"conversationId": cid, "content": "churn", "optimisticId": uuid.uuid4().hex}
    await raw.call("send_message", send, ack_id=2)


async def polling_closed_mid_handshake(base: str, user: User) -> None:
    """A long-polling session whose CONNECT and close (two POSTs) race."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        query = {"EIO": "4", "transport": "polling", "sid": json.loads(r.text[1:])["sid"]}
        connect = f"40{NS}," + json.dumps({"token": user.token})
        await asyncio.gather(
            http.post("/socket.io/", params=query, content=connect),
            http.post("/socket.io/", params=query, content="1"),
        )


async def one_socket(base: str, n: int, users: list[User], cid: str) -> None:
    user = users[n % len(users)]
    if n % 10 == 4:
        await polling_closed_mid_handshake(base, user)
        return
    raw = await RawSocket.open(base)
    try:
        kind = n % 10
        if kind == 0:  # closes in the middle of its handshake
            await raw.frame(f"40{NS}," + json.dumps({"token": user.token}))
        elif kind == 1:  # refused
            await raw.connect("not-a-token")
        elif kind == 2:  # never connects: closed by the server
            await raw.closed()
        elif kind == 3:  # a binary packet: closed by the server
            await raw.connect(user.token)
            await raw.frame(f'451-{NS},["typing",{{"_placeholder":true,"num":0}}]')
            await raw.closed()
        else:
            await chat(raw, user, cid)
    finally:
        await raw.close()


async def test_connection_churn_leaves_no_per_socket_state(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        users = [await register(http) for _ in range(USERS)]
        cid = await group(http, users[0], *users[1:])
        gate = asyncio.Semaphore(AT_ONCE)

        async def run(n: int) -> None:
            async with gate:
                # A socket's own fate (refused, closed) is not what is tested here.
                with contextlib.suppress(Exception):
                    await one_socket(server.base, n, users, cid)

        # Warm up (Engine.IO starts its service task with the first session), then note
        # where every table stands with no socket open.
        await asyncio.gather(*(run(n) for n in range(4, 10)))
        start = await settled(http, None)
        assert start.get("hub_sockets") == 0, start
        assert "event_budgets" in start, start
        for cycle in range(CYCLES):
            await asyncio.gather(*(run(n) for n in range(SOCKETS_PER_CYCLE)))
            after = await settled(http, start)
            grown = _grown(start, after)
            assert not grown, f"cycle {cycle + 1}: tables (start, now) that kept sockets: {grown}"

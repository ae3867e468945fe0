"""Budgets on the socket side, against real `hubbub serve` processes: typing toggles,
sockets per user, and (PostgreSQL + Redis) budgets shared by two nodes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import Client, Server, clients, group, own_database, register, start_server

Connect = Callable[..., Any]
LIMITS = {
    "HUBBUB_BUDGETS": "register_address=6000/1000,typing=0.01/3,reaction=0.01/4",
    "HUBBUB_MAX_SOCKETS_PER_USER": "3",
}


@contextlib.asynccontextmanager
async def servers(backend: Backend, directory: Path, count: int) -> AsyncIterator[list[Server]]:
    async with own_database(backend, directory) as env:
        started: list[Server] = []
        try:
            for n in range(count):
                started.append(start_server(directory / f"n{n}", env | LIMITS))
            yield started
        finally:
            for server in started:
                server.stop()


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    async with servers(backend, tmp_path_factory.mktemp("budgets"), 1) as (one,):
        yield one


@pytest.fixture
async def on(server: Server) -> AsyncIterator[tuple[httpx.AsyncClient, Connect]]:
    """The module's server over HTTP, and a factory of its sockets."""
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=10) as http,
        clients(server.base) as connect,
    ):
        yield http, connect


def assert_rate_limited(answer: Any) -> None:
    assert answer["ok"] is False, answer
    assert answer["error"]["code"] == "rate_limited", answer
    assert answer["error"]["retryAfter"] > 60, answer


async def test_typing_toggles_have_a_budget(on: tuple[httpx.AsyncClient, Connect]) -> None:
    http, connect = on
    a, b = await register(http), await register(http)
    cid = await group(http, a, b)
    a1: Client = await connect(a)
    b1: Client = await connect(b)
    ref = {"conversationId": cid}
    for event in ("typing", "stop_typing", "typing"):
        assert await a1.call(event, ref) == {"ok": True}
    # A `typing` per keystroke only refreshes the state: it fans out nothing, costs nothing.
    for _ in range(10):
        assert await a1.call("typing", ref) == {"ok": True}
    await b1.wait_for("typing", count=2)
    # The fourth toggle: refused, and nobody hears of it.
    assert_rate_limited(await a1.call("stop_typing", ref))
    await a1.emit("stop_typing", ref)  # without an ack: an `exception`
    refused = await a1.wait_for("exception")
    assert refused["code"] == "rate_limited"
    assert refused["retryAfter"] > 60
    await b1.barrier()
    assert len(b1.named("typing")) == 2
    assert len(b1.named("stop_typing")) == 1
    # Per user: the other participant types as before.
    assert await b1.call("typing", ref) == {"ok": True}
    await a1.wait_for("typing")


async def test_sockets_per_user_are_capped(on: tuple[httpx.AsyncClient, Connect]) -> None:
    http, connect = on
    a, b = await register(http), await register(http)
    held = [await connect(a) for _ in range(3)]
    assert all(c.connect_error is None for c in held)
    refused: Client = await connect(a)
    assert refused.connect_error == {
        "message": "too_many_sockets",
        "data": {
            "code": "too_many_sockets",
            "message": "at most 3 connections per user",
            "limit": 3,
        },
    }
    # Another user is not affected; and a socket closed makes room (the refused one
    # was not counted).
    other: Client = await connect(b)
    assert other.connect_error is None
    await held[0].close()
    again: Client = await connect(a)
    assert again.connect_error is None, again.connect_error
    await again.barrier()


@pytest.mark.postgres_only
async def test_budgets_are_shared_by_the_nodes(backend: Backend, tmp_path: Path) -> None:
    async with (
        servers(backend, tmp_path, 2) as (n1, n2),
        httpx.AsyncClient(base_url=n1.base, timeout=10) as h1,
        httpx.AsyncClient(base_url=n2.base, timeout=10) as h2,
        clients(n1.base) as on1,
        clients(n2.base) as on2,
    ):
        a, b = await register(h1), await register(h1)
        cid = await group(h1, a, b)
        sent = await h1.post(
            f"/conversations/{cid}/messages", headers=a.headers, json={"content": "react"}
        )
        message = sent.json()["message"]["id"]
        path = f"/conversations/{cid}/messages/{message}/reactions"

        async def react(http: httpx.AsyncClient, emoji: str) -> httpx.Response:
            return await http.post(path, headers=a.headers, json={"emoji": emoji})

        # Four reactions, half on each node; the fifth is refused on either.
        for http, emoji in ((h1, "👍"), (h2, "🎉"), (h1, "🔥"), (h2, "👀")):
            assert (await react(http, emoji)).status_code == 200
        for http in (h1, h2):
            refused = await react(http, "🙂")
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["retry-after"]) > 60
        # Sockets are counted across nodes too: three in all.
        held = [await on1(a), await on2(a), await on1(a)]
        assert all(c.connect_error is None for c in held)
        fourth: Client = await on2(a)
        assert fourth.connect_error is not None
        assert fourth.connect_error["message"] == "too_many_sockets"

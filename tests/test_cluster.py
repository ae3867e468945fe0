"""Two `hubbub serve` nodes on one PostgreSQL database and one Redis (PostgreSQL run only).

Clients are split across the nodes; every event must cross. The Redis fault test runs
its own `redis-server`, stops it under traffic and starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import (
    Client,
    Server,
    clients,
    free_port,
    group,
    history,
    http_send,
    login,
    own_database,
    register,
    start_server,
)

pytestmark = pytest.mark.postgres_only

TYPING_TTL_S = 1.5
PRESENCE_GRACE_S = 1.0


@pytest.fixture(scope="module")
async def nodes(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, Server]]:
    directory = tmp_path_factory.mktemp("cluster")
    async with own_database(backend, directory) as env:
        env |= {"HUBBUB_SEND_BURST": "5", "HUBBUB_SEND_RATE_PER_S": "0.2"}
        started: list[Server] = []
        try:
            for name in ("n1", "n2"):
                started.append(
                    start_server(
                        directory / name,
                        env,
                        typing_ttl_s=TYPING_TTL_S,
                        presence_grace_s=PRESENCE_GRACE_S,
                    )
                )
            yield started[0], started[1]
        finally:
            for s in started:
                s.stop()


@contextlib.asynccontextmanager
async def on_both(nodes: tuple[Server, Server]) -> AsyncIterator[tuple[Any, Any, Any, Any]]:
    """An HTTP client and a socket maker for each node."""
    n1, n2 = nodes
    async with (
        httpx.AsyncClient(base_url=n1.base, timeout=10) as h1,
        httpx.AsyncClient(base_url=n2.base, timeout=10) as h2,
        clients(n1.base) as on1,
        clients(n2.base) as on2,
    ):
        yield h1, h2, on1, on2


async def test_events_cross_nodes(nodes: tuple[Server, Server]) -> None:
    async with on_both(nodes) as (h1, h2, on1, on2):
        a, b, c = await register(h1), await register(h2), await register(h1)
        cid = await group(h1, a, b)
        b2: Client = await on2(b)
        a1: Client = await on1(a)
        c2: Client = await on2(c)

        # Presence: a came online on n1; b hears it on n2.
        online = await b2.wait_for("user_online", lambda d: d["userId"] == a.id)
        assert set(online) == {"userId", "at"}
        ack = await b2.call("get_presence", {"userIds": [a.id]})
        assert ack["presence"][a.id]["isOnline"] is True

        # new_message and typing cross nodes.
        message = await a1.send(cid, "across")
        assert await b2.wait_for("new_message") == {"message": message, "conversationId": cid}
        for _ in range(3):
            await a1.call("typing", {"conversationId": cid})
        typing = await b2.wait_for("typing")
        assert typing == {"conversationId": cid, "userId": a.id, "username": a.username}
        await a1.send(cid, "typed")
        assert await b2.wait_for("stop_typing") == {"conversationId": cid, "userId": a.id}
        await b2.wait_for("new_message", count=2)
        await b2.barrier()
        assert len(b2.named("typing")) == 1

        # Membership changes made on n1 reach a socket on n2 at once.
        r = await h1.post(
            f"/conversations/{cid}/participants", headers=a.headers, json={"userIds": [c.id]}
        )
        assert r.status_code == 200, r.text
        added = await c2.wait_for("participant_added")
        assert added["conversationId"] == cid
        assert added["participant"]["userId"] == c.id
        third = await a1.send(cid, "welcome")
        assert (await c2.wait_for("new_message", lambda d: d["message"]["id"] == third["id"]))[
            "conversationId"
        ] == cid
        r = await h1.delete(f"/conversations/{cid}/participants/{c.id}", headers=a.headers)
        assert r.status_code == 200, r.text
        removed = await c2.wait_for("participant_removed")
        assert removed == {"conversationId": cid, "userId": c.id}
        after = await a1.send(cid, "after removal")
        await b2.wait_for("new_message", lambda d: d["message"]["id"] == after["id"])
        await c2.barrier()
        assert after["id"] not in [d["message"]["id"] for d in c2.named("new_message")]

        # Logout on n2 cuts that session's socket on n1.
        other = await login(h2, b)
        b1: Client = await on1(other)
        r = await h2.post("/auth/logout", headers=other.headers, json={})
        assert r.status_code == 200, r.text
        await b1.wait_disconnected()
        assert not b2.disconnected

        # Presence goes offline across nodes after the grace period.
        await a1.close()
        offline = await b2.wait_for(
            "user_offline", lambda d: d["userId"] == a.id, within=PRESENCE_GRACE_S + 10
        )
        assert set(offline) == {"userId", "lastSeen"}


async def test_send_rate_limit_is_shared_by_the_nodes(nodes: tuple[Server, Server]) -> None:
    n1, n2 = nodes
    async with (
        httpx.AsyncClient(base_url=n1.base, timeout=10) as h1,
        clients(n1.base) as on1,
        clients(n2.base) as on2,
    ):
        a, b = await register(h1), await register(h1)
        cid = await group(h1, a, b)
        a1: Client = await on1(a)
        a2: Client = await on2(a)
        for n in range(3):
            await a1.send(cid, f"n1-{n}")
        for n in range(2):
            await a2.send(cid, f"n2-{n}")
        for c in (a1, a2):  # the burst of 5 is spent on both nodes together
            ack = await c.call(
                "send_message",
                {
                    "conversationId": cid,
                    "content": "one too many",
                    "optimisticId": uuid.uuid4().hex,
                },
            )
            assert ack["ok"] is False
            assert ack["error"]["code"] == "rate_limited"
            assert ack["error"]["retryAfter"] >= 1
        assert len(await history(h1, b, cid)) == 5


# Redis faults ----------------------------------------------------------------------------


class RedisProcess:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(  # noqa: S603
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


async def test_redis_outage_loses_no_acknowledged_message(
    backend: Backend, tmp_path: Path, own_redis: RedisProcess
) -> None:
    async with own_database(backend, tmp_path / "db") as env:
        env |= {
            "HUBBUB_REDIS_URL": own_redis.url,
            "HUBBUB_REDIS_PREFIX": f"hubbub-fault-{secrets.token_hex(4)}:",
        }
        n1 = start_server(tmp_path / "n1", env)
        n2 = start_server(tmp_path / "n2", env)
        try:
            await _outage_scenario(n1, n2, own_redis)
        finally:
            n1.stop()
            n2.stop()


async def _outage_scenario(n1: Server, n2: Server, redis: RedisProcess) -> None:
    async with (
        httpx.AsyncClient(base_url=n1.base, timeout=10) as h1,
        clients(n1.base) as on1,
        clients(n2.base) as on2,
    ):
        a, b = await register(h1), await register(h1)
        cid = await group(h1, a, b)
        a1: Client = await on1(a)
        b1: Client = await on1(b)  # same node as the sender
        b2: Client = await on2(b)  # the other node
        acked: list[dict[str, Any]] = []

        async def send(client: Client, content: str) -> dict[str, Any]:
            message = await client.send(cid, content)
            acked.append(message)
            return message

        first = await send(a1, "before")
        await b2.wait_for("new_message", lambda d: d["message"]["id"] == first["id"])
        last_seen = first["changeSeq"]

        redis.stop()
        during = [await send(a1, f"during {n}") for n in range(5)]
        # Local delivery goes on without Redis.
        for m in during:
            await b1.wait_for("new_message", lambda d, m=m: d["message"]["id"] == m["id"])
        # A new socket connects without Redis, and hears what is sent next.
        b3: Client = await on1(b)
        assert (await b3.wait_for("connection_success"))["userId"] == b.id
        during.append(await send(a1, "during, to the new socket too"))
        await b3.wait_for("new_message", lambda d: d["message"]["id"] == during[-1]["id"])

        redis.start()
        # Live delivery comes back on both nodes: keep sending until each side hears one.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 40
        crossed_to_2 = crossed_to_1 = False
        n = 0
        while not (crossed_to_2 and crossed_to_1):
            assert loop.time() < deadline, "live delivery did not come back"
            n += 1
            m = await send(a1, f"after {n}")
            back = await send(b2, f"reply {n}")
            await asyncio.sleep(0.2)
            crossed_to_2 = crossed_to_2 or any(
                d["message"]["id"] == m["id"] for d in b2.named("new_message")
            )
            crossed_to_1 = crossed_to_1 or any(
                d["message"]["id"] == back["id"] for d in a1.named("new_message")
            )

        # Nothing acknowledged was lost, nothing stored twice.
        stored = await history(h1, a, cid)
        assert [m["id"] for m in stored] == [m["id"] for m in sorted(acked, key=lambda m: m["seq"])]
        # The node-2 socket fills the gap with sync.
        ack = await b2.call("sync", {"conversations": {cid: last_seen}})
        page = ack["conversations"][cid]
        assert page["hasMore"] is False
        assert [m["id"] for m in page["changes"]] == [m["id"] for m in stored[1:]]


async def test_nodes_start_without_redis_and_join_up_when_it_answers(
    backend: Backend, tmp_path: Path
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    redis = RedisProcess(tmp_path)  # its port is chosen, nothing listens on it yet
    async with own_database(backend, tmp_path / "db") as env:
        env |= {
            "HUBBUB_REDIS_URL": redis.url,
            "HUBBUB_REDIS_PREFIX": f"hubbub-late-{secrets.token_hex(4)}:",
        }
        n1 = start_server(tmp_path / "n1", env)
        n2 = start_server(tmp_path / "n2", env)
        try:
            assert "starting degraded" in n1.log.read_text()
            async with (
                httpx.AsyncClient(base_url=n1.base, timeout=10) as h1,
                clients(n1.base) as on1,
                clients(n2.base) as on2,
            ):
                assert (await h1.get("/readyz")).status_code == 503
                a, b = await register(h1), await register(h1)
                a = await login(h1, a)  # sign-in goes on, limited by the node alone
                cid = await group(h1, a, b)
                a1: Client = await on1(a)
                b2: Client = await on2(b)
                stored = await a1.send(cid, "stored while Redis is away")
                assert stored["content"] == "stored while Redis is away"

                redis.start()
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 40
                n = 0
                while not any(
                    d["message"]["content"].startswith("after") for d in b2.named("new_message")
                ):
                    assert loop.time() < deadline, "the nodes never joined up through Redis"
                    n += 1
                    await a1.send(cid, f"after {n}")
                    await asyncio.sleep(0.2)
                assert (await h1.get("/readyz")).status_code == 200
        finally:
            n1.stop()
            n2.stop()
            redis.stop()


# A removed member hears nothing more ------------------------------------------------------
#
# The member has sockets on both nodes that keep joining the conversation and
# reconnecting (each join and each handshake reads the member's conversations from the
# database) while the owner removes them; afterwards the owner sends and types, and no
# socket of the member, old or new, may receive either. A read that started before the
# removal committed and ended after its event arrived used to put the member back in
# the conversation's audience for good.

REMOVAL_ROUNDS = 4
SOCKETS_PER_NODE = 3


async def _keep_joining(client: Client, cid: str, stop: asyncio.Event) -> None:
    while not stop.is_set() and not client.disconnected:
        with contextlib.suppress(Exception):
            await client.call("join_conversation", {"conversationId": cid}, within=5)
        await asyncio.sleep(0.02)


async def _keep_reconnecting(
    connect: Callable[[], Awaitable[Client]], made: list[Client], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        client = await connect()
        made.append(client)
        await asyncio.sleep(0.03)
        if not stop.is_set():
            await client.close()


async def test_a_removed_member_hears_nothing_more(nodes: tuple[Server, Server]) -> None:
    n1, n2 = nodes
    async with (
        httpx.AsyncClient(base_url=n1.base, timeout=10) as h1,
        httpx.AsyncClient(base_url=n2.base, timeout=10) as h2,
        clients(n1.base) as on1,
        clients(n2.base) as on2,
    ):
        owner, member = await register(h1), await register(h2)
        owner_socket: Client = await on1(owner)
        for round_no in range(REMOVAL_ROUNDS):
            cid = await group(h1, owner, member)
            made: list[Client] = [
                await connect(member) for connect in (on1, on2) for _ in range(SOCKETS_PER_NODE)
            ]
            stop = asyncio.Event()
            churn = [asyncio.create_task(_keep_joining(c, cid, stop)) for c in list(made)]
            churn += [
                asyncio.create_task(_keep_reconnecting(lambda on=on: on(member), made, stop))
                for on in (on1, on2)
            ]
            await asyncio.sleep(0.2)
            removed = await h1.delete(
                f"/conversations/{cid}/participants/{member.id}", headers=owner.headers
            )
            assert removed.status_code in (200, 204), removed.text
            await asyncio.sleep(0.5)  # joins and handshakes keep coming after the removal
            stop.set()
            await asyncio.gather(*churn)
            gone = await h2.get(f"/conversations/{cid}", headers=member.headers)
            assert gone.status_code == 404, gone.text

            after = await http_send(h2, owner, cid, f"after the removal, round {round_no}")
            await owner_socket.emit("typing", {"conversationId": cid})
            await owner_socket.wait_for(
                "new_message", lambda m, after=after: m["message"]["id"] == after["id"]
            )
            for client in made:
                if not client.disconnected:
                    await client.barrier()
            leaked = [
                (event, data)
                for client in made
                for event, data in client.events
                if (event == "new_message" and data["message"]["id"] == after["id"])
                or (event in ("typing", "user_typing") and data.get("conversationId") == cid)
            ]
            assert leaked == [], f"round {round_no}: the removed member heard {leaked}"
            for client in made:
                await client.close()


def events_out(metrics: str, name: str) -> float:
    line = f'hubbub_events_out_total{{event="{name}"}} '
    return sum(float(x[len(line) :]) for x in metrics.splitlines() if x.startswith(line))


async def test_a_node_hears_only_the_conversations_its_sockets_are_in(
    nodes: tuple[Server, Server],
) -> None:
    """Events go only to the nodes holding a socket of their audience; a node whose user
    is added to a conversation starts hearing it before that user's socket hears of it."""
    async with on_both(nodes) as (h1, h2, on1, on2):
        a, b, d = await register(h1), await register(h1), await register(h2)
        cid = await group(h1, a, b)  # no socket of it on n2
        a1: Client = await on1(a)
        d2: Client = await on2(d)
        before = events_out((await h2.get("/metrics")).text, "new_message")
        for i in range(3):
            await a1.send(cid, f"unheard {i}")
        # Published by n1 after the sends: once d2 has it, n2 has had everything before.
        r = await h1.post(
            f"/conversations/{cid}/participants", headers=a.headers, json={"userIds": [d.id]}
        )
        assert r.status_code == 200, r.text
        await d2.wait_for("participant_added")
        assert events_out((await h2.get("/metrics")).text, "new_message") == before

        welcome = await a1.send(cid, "welcome")
        got = await d2.wait_for("new_message", lambda m: m["message"]["id"] == welcome["id"])
        assert got["conversationId"] == cid
        assert events_out((await h2.get("/metrics")).text, "new_message") == before + 1
        assert [m["message"]["content"] for m in d2.named("new_message")] == ["welcome"]

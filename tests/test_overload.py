"""Graceful overload at the edge (`hubbub.edge.socket.overload`).

The probe is run on a loop that really runs late (the test blocks it); the shedder's
rule is checked as a matrix of (loop late or not) x (backlog or not); and a real
`hubbub serve`, its bounds set low, is sent bursts over a real socket: each shed send is
answered with `rate_limited` and a `retryAfter`, counted, and leaves nothing behind,
while every acknowledged one is stored exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hubbub.edge.socket.overload import LoopLag, SendShedder
from hubbub.metrics import Metrics
from tests.conftest import Backend
from tests.gw import Client, Server, clients, group, history, register, serving

BLOCK_S = 0.3


async def late_probe() -> tuple[LoopLag, asyncio.Task[None]]:
    """A probe watching this loop, which is then held for BLOCK_S."""
    lag = LoopLag(interval_s=0.02)
    task = asyncio.create_task(lag.watch_forever())
    await asyncio.sleep(0.05)  # it has started and is waiting for its next tick
    time.sleep(BLOCK_S)  # noqa: ASYNC251 - the loop is held on purpose
    return lag, task


async def settled(lag: LoopLag, below: float) -> None:
    """Waits until the probe sees the loop on time again (a loaded machine may take a
    few ticks)."""
    deadline = time.monotonic() + 10
    while lag.seconds() >= below:
        assert time.monotonic() < deadline, lag.seconds()
        await asyncio.sleep(0.02)


async def test_the_probe_sees_a_loop_held_and_then_free() -> None:
    quiet = LoopLag()
    assert quiet.seconds() == 0.0  # not watching: nothing to say
    lag, task = await late_probe()
    try:
        # While its tick is overdue, and after it has run late.
        assert lag.seconds() >= BLOCK_S - 0.05
        await asyncio.sleep(0)
        assert lag.seconds() >= BLOCK_S - 0.05
        await settled(lag, 0.1)
        assert lag.seconds() < 0.1
    finally:
        task.cancel()


@pytest.mark.parametrize(
    ("late", "in_flight", "shed"),
    [(True, 8, True), (True, 7, False), (False, 8, False), (False, 0, False), (True, 0, False)],
)
async def test_a_send_is_shed_only_when_the_loop_is_late_and_sends_wait(
    late: bool, in_flight: int, shed: bool
) -> None:
    metrics = Metrics()
    if late:
        lag, task = await late_probe()
    else:
        lag = LoopLag(interval_s=0.02)
        task = asyncio.create_task(lag.watch_forever())
    try:
        if not late:
            await asyncio.sleep(0.05)
            await settled(lag, 0.1)
        shedder = SendShedder(lag, metrics, max_lag_s=0.1, min_in_flight=8)
        shedder.in_flight = in_flight
        refusal = shedder.refusal()
        counted = metrics.registry.get_sample_value("hubbub_sends_shed_total")
        if shed:
            assert refusal is not None
            assert refusal.code == "rate_limited"
            assert refusal.retry_after >= 1
            assert counted == 1
        else:
            assert refusal is None
            assert counted == 0
    finally:
        task.cancel()


# A real server whose loop is "late" past 2 ms with any send waiting: a burst of sends
# from a few sockets makes it late (each send is work on its one loop, and the commit of
# a batch more), so some of a burst are shed and the rest stored.
SHED_ENV = {
    "HUBBUB_SEND_SHED_LAG_S": "0.002",
    "HUBBUB_SEND_SHED_MIN_IN_FLIGHT": "0",
    "HUBBUB_SEND_RATE_PER_S": "100000",
    "HUBBUB_SEND_BURST": "100000",
    "HUBBUB_SOCKET_EVENT_RATE_PER_S": "100000",
    "HUBBUB_SOCKET_EVENT_BURST": "100000",
}
SENDERS = 4
BURST = 300  # from each sender
WAVE = 50


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    async with serving(backend, tmp_path_factory.mktemp("overload"), SHED_ENV) as srv:
        yield srv


def shed_total(metrics: str) -> float:
    lines = [line for line in metrics.splitlines() if line.startswith("hubbub_sends_shed_total ")]
    return float(lines[0].split()[1])


async def burst(sender: Client, cid: str, tag: str) -> list[str]:
    ids = [f"{tag}-{i}" for i in range(BURST)]
    for i, optimistic in enumerate(ids):
        if i % WAVE == 0:
            # In waves: a send is checked when it arrives, so it must find the loop
            # already late from the waves before it.
            await asyncio.sleep(0.02)
        await sender.emit(
            "send_message",
            {"conversationId": cid, "content": optimistic, "optimisticId": optimistic},
        )
    return ids


def answers(sender: Client, ids: list[str]) -> dict[str, tuple[str, Any]]:
    wanted = set(ids)
    found: dict[str, tuple[str, Any]] = {}
    for event, data in sender.events:
        if event in ("message_sent", "message_error") and data.get("optimisticId") in wanted:
            found[data["optimisticId"]] = (event, data)
    return found


async def test_shed_sends_are_answered_counted_and_leave_nothing(server: Server) -> None:
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=20) as http,
        clients(server.base) as connect,
    ):
        users = [await register(http) for _ in range(SENDERS)]
        cid = await group(http, *users)
        senders: list[Client] = [await connect(user) for user in users]
        before = shed_total((await http.get("/metrics")).text)
        every: dict[str, tuple[str, Any]] = {}
        for attempt in range(5):  # bursts until one was (partly) shed
            tag = f"b{attempt}-{uuid.uuid4().hex[:6]}"
            sent = await asyncio.gather(
                *(burst(sender, cid, f"{tag}-{n}") for n, sender in enumerate(senders))
            )
            deadline = time.monotonic() + 30
            for sender, ids in zip(senders, sent, strict=True):
                while len(got := answers(sender, ids)) < BURST:
                    assert time.monotonic() < deadline, f"{len(got)} of {BURST} answered"
                    await asyncio.sleep(0.05)
                every |= got
            if any(event == "message_error" for event, _ in every.values()):
                break

        refused = {oid: data for oid, (event, data) in every.items() if event == "message_error"}
        acked = {oid: data for oid, (event, data) in every.items() if event == "message_sent"}
        assert refused, "no send of five bursts was shed"
        assert acked, "every send of the bursts was shed"
        for data in refused.values():
            assert data["success"] is False
            assert data["error"]["code"] == "rate_limited"
            assert data["error"]["retryAfter"] >= 1
            assert "busy" in data["error"]["message"]
        assert shed_total((await http.get("/metrics")).text) >= before + len(refused)

        stored = [m["content"] for m in await history(http, users[0], cid)]
        assert sorted(stored) == sorted(acked)  # each acknowledged once, no shed one
        assert {data["message"]["content"] for data in acked.values()} == set(acked)

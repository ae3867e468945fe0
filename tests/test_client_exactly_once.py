"""Exactly once, in order, through the SDK, while everything goes wrong.

A sender (an SDK client) sends N messages to a group while the receiver's connections
are cut again and again (a TCP relay in front of each node aborts them), and the server
process is killed (SIGKILL) and started again over the same database; on PostgreSQL
there are two nodes, the receiver starts on the one that is killed and goes on on the
other. The receiver's program must see each message exactly once, in `seq` order. The
figures are printed (`-s` shows them) so they can be quoted.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hubbub.client import AsyncClient, Disconnected, Event, NewMessage
from tests.conftest import Backend
from tests.gw import Server, cluster
from tests.sdk import FAST, Relay, signed_up

MESSAGES = 300
BATCH = 5  # sends in flight together
ROUNDS = 12  # of cutting the receiver's connections (one of them kills its node instead)


def kill(server: Server) -> None:
    assert server.proc is not None
    server.proc.kill()
    server.proc.wait(timeout=10)
    server.proc = None


async def test_every_message_exactly_once_in_order_across_cuts_and_restarts(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    async with cluster(backend, tmp_path_factory.mktemp("exactly-once"), FAST) as servers:
        relays = [Relay(server) for server in servers]
        for relay in relays:
            await relay.start()
        fast = {"max_backoff_s": 0.3, "gap_wait_s": 0.2}
        # The receiver goes through the relays (first node first); the sender straight
        # to the nodes, the last first (on PostgreSQL the other node than the receiver).
        receiver = await signed_up(*[r.base for r in relays], **fast)
        sender = await signed_up(*[s.base for s in reversed(servers)], **fast)
        try:
            group = await sender.create_group("load", [receiver.user.id])
            stream = receiver.events()
            await receiver.connect()
            await sender.connect()
            figures = await _run(sender, receiver, group.id, servers, relays)
            events: list[Event] = []
            async with asyncio.timeout(15):
                while len({e.message.id for e in events if isinstance(e, NewMessage)}) < MESSAGES:
                    events.append(await anext(stream))
            await asyncio.sleep(0.5)  # anything more that was coming (a duplicate) comes
            events += stream.drain()
            seen = [e for e in events if isinstance(e, NewMessage)]
            disconnects_seen = sum(isinstance(e, Disconnected) for e in events)
        finally:
            await sender.close()
            await receiver.close()
            for relay in relays:
                await relay.stop()

    contents = [e.message.content for e in seen]
    unique = set(contents)
    expected = {f"m{n}" for n in range(MESSAGES)}
    figures |= {
        "messages": MESSAGES,
        "received": len(seen),
        "losses": len(expected - unique),
        "duplicates": len(contents) - len(unique),
        "receiver disconnects": receiver.stats.disconnects,
        "receiver resumes": receiver.stats.resumes,
        "gap syncs": receiver.stats.gap_syncs,
        "sends resent": sender.stats.resent,
    }
    print(f"\nexactly-once on {backend.name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    assert unique == expected
    assert len(contents) == MESSAGES, "a message was handed on twice"
    seqs = [e.message.seq for e in seen]
    assert seqs == sorted(seqs), "messages were handed on out of seq order"
    assert figures["restarts"] >= 1
    assert figures["cuts"] >= 5
    assert receiver.stats.disconnects >= figures["cuts"]
    assert disconnects_seen == receiver.stats.disconnects


async def _run(
    sender: AsyncClient,
    receiver: AsyncClient,
    conversation_id: object,
    servers: list[Server],
    relays: list[Relay],
) -> dict[str, int]:
    figures = {"cuts": 0, "connections cut": 0, "restarts": 0}

    async def send_all() -> None:
        # Spread over about the time of the rounds below.
        for start in range(0, MESSAGES, BATCH):
            batch = range(start, min(start + BATCH, MESSAGES))
            await asyncio.gather(*(sender.send(conversation_id, f"m{n}") for n in batch))  # type: ignore[arg-type]
            await asyncio.sleep(0.02)

    async def restart() -> None:
        # Kill the first node (the receiver's) and start it again over the same database;
        # meanwhile the receiver reconnects (to the other node, if there is one).
        kill(servers[0])
        await asyncio.sleep(0.3)
        await asyncio.to_thread(servers[0].start)
        figures["restarts"] += 1

    async def break_things() -> None:
        restarting = None
        for round_ in range(ROUNDS):
            await asyncio.sleep(0.25 + secrets.randbelow(100) / 1000)
            if round_ == ROUNDS - 4:
                restarting = asyncio.get_running_loop().create_task(restart())
            elif receiver.connected:
                figures["cuts"] += 1
                figures["connections cut"] += sum(relay.cut() for relay in relays)
        assert restarting is not None
        await restarting

    await asyncio.gather(send_all(), break_things())
    return figures

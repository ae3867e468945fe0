"""One contract, every implementation: the event bus (`hubbub.realtime.bus`).

Within one node both buses behave alike: a subscriber (the node's hub, here a recorder)
gets every published event's envelope, in order, before `publish` returns, and a
subscriber that fails does not keep the others from theirs. Across nodes only the Redis
bus carries anything: another node on the same prefix that holds sockets of the event's
conversation or users (its hub's `interest`) gets envelopes equal to those published,
once each, in order; a node holding none does not get them, and one that gains a socket
gets the events published after its `interest.ready()`; a node does not get its own
publications a second time, and when its subscription is cut the bus subscribes again
and asks every subscriber to `resync` before delivery goes on. Those cases are marked
with `only`; the in-process bus serves one process, which is one node.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from redis.asyncio import Redis

from hubbub.events.catalog import (
    MessagesDelivered,
    ParticipantRemoved,
    ServerEvent,
    SessionEnded,
    Typing,
    UnreadCount,
    UserOnline,
)
from hubbub.events.envelope import Audience, Effect, Envelope
from hubbub.metrics import Metrics
from hubbub.realtime.bus import EventBus, InProcessEventBus, RedisEventBus
from tests.chat import Recorder
from tests.conftest import REDIS_URL
from tests.seams import Seam, only

# How long a test waits for what another node should see (a loaded machine's round trip).
WAIT_S = 10.0


@dataclass(frozen=True)
class Custom:
    """An event with whatever envelope a test needs (every field of it, say)."""

    name: ClassVar[str] = "custom"
    built: Envelope

    def envelope(self) -> Envelope:
        return self.built


class Failing:
    """A subscriber that fails on every event (and on resync)."""

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, envelope: Envelope) -> None:
        self.calls += 1
        raise RuntimeError(f"cannot deliver {envelope.name}")

    async def resync(self) -> None:
        raise RuntimeError("cannot resync")


@dataclass
class Nodes:
    """Buses of the test's nodes: new in-process buses, or Redis buses over the test's
    shared prefix (each started and subscribed before it is handed over)."""

    seam: Seam
    buses: list[EventBus] = field(default_factory=list)
    clients: list[Redis] = field(default_factory=list)
    metrics: dict[str, Metrics] = field(default_factory=dict)

    async def node(self, name: str, *, redis: Redis | None = None) -> EventBus:
        bus: EventBus
        if self.seam.kind == "memory":
            bus = InProcessEventBus()
        else:
            metrics = self.metrics[name] = Metrics()
            bus = RedisEventBus(
                redis or self.seam.client, self.seam.prefix, node_id=name, metrics=metrics
            )
        await bus.start()
        self.buses.append(bus)
        if isinstance(bus, RedisEventBus):
            await asyncio.wait_for(bus.connected.wait(), WAIT_S)
        return bus

    def named_client(self) -> tuple[Redis, str]:
        """A Redis client of its own, whose connections carry a name to find them by."""
        name = f"hubbub-test-bus-{secrets.token_hex(4)}"
        client = Redis.from_url(REDIS_URL, client_name=name)
        self.clients.append(client)
        return client, name


@pytest.fixture
async def nodes(seam: Seam) -> AsyncIterator[Nodes]:
    made = Nodes(seam)
    try:
        yield made
    finally:
        for bus in made.buses:
            await bus.stop()
        for client in made.clients:
            await client.aclose()


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {WAIT_S}s: {what}")
        await asyncio.sleep(0.01)


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def delivered(conversation_id: uuid.UUID, seq: int) -> MessagesDelivered:
    return MessagesDelivered(conversation_id, uuid.uuid4(), uuid.uuid4(), seq)


async def hears(
    bus: EventBus, conversations: Sequence[uuid.UUID] = (), users: Sequence[uuid.UUID] = ()
) -> None:
    """What a node's hub tells its bus when sockets of these come to it."""
    for cid in conversations:
        bus.interest.conversation(cid, True)
    for uid in users:
        bus.interest.user(uid, True)
    await bus.interest.ready()


def assorted(cid: uuid.UUID, ann: uuid.UUID, ben: uuid.UUID) -> list[ServerEvent]:
    """Events whose envelopes use every field of an audience and of an effect (several
    are addressed to the conversation and to users both)."""
    return [
        delivered(cid, 1),
        Typing(cid, ann, "ann"),
        UnreadCount(cid, ben, 4, 4),
        UserOnline(ann, datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ParticipantRemoved(cid, ben),
        SessionEnded(uuid.uuid4()),
        Custom(
            Envelope(
                "custom",
                {"nested": {"list": [1, "two", None, True]}, "text": "héllo ✓"},
                Audience(
                    conversation_id=cid,
                    user_ids=(ann, ben),
                    contacts_of=ann,
                    exclude_socket="socket-1",
                    exclude_user=ben,
                ),
                Effect(conversation_id=cid, joined=(ann,), left=(ben,)),
            )
        ),
    ]


def envelopes(events: Sequence[ServerEvent]) -> list[Envelope]:
    return [e.envelope() for e in events]


# One node ------------------------------------------------------------------------------


async def test_a_subscriber_gets_published_events_in_order_at_once(nodes: Nodes) -> None:
    bus = await nodes.node("a")
    recorder = Recorder()
    bus.subscribe(recorder)
    cid = uuid.uuid4()
    first = [delivered(cid, seq) for seq in range(1, 11)]
    second = assorted(*ids(3))

    await bus.publish(first)
    # Delivered before `publish` returned: no waiting, no other task's turn.
    assert recorder.events == envelopes(first)
    await bus.publish(second)
    await bus.publish([])
    assert recorder.events == envelopes(first) + envelopes(second)
    assert recorder.resyncs == 0


async def test_every_subscriber_gets_every_event(nodes: Nodes) -> None:
    bus = await nodes.node("a")
    recorders = [Recorder() for _ in range(3)]
    for recorder in recorders:
        bus.subscribe(recorder)
    events = assorted(*ids(3))
    await bus.publish(events)
    for recorder in recorders:
        assert recorder.events == envelopes(events)


async def test_a_failing_subscriber_does_not_stop_the_others(nodes: Nodes) -> None:
    bus = await nodes.node("a")
    before, failing, after = Recorder(), Failing(), Recorder()
    for subscriber in (before, failing, after):
        bus.subscribe(subscriber)
    cid = uuid.uuid4()
    events = [delivered(cid, seq) for seq in range(1, 4)]

    await bus.publish(events)  # does not raise

    assert failing.calls == 3
    assert before.events == envelopes(events)
    assert after.events == envelopes(events)


# Across nodes (Redis) ------------------------------------------------------------------

ONE_NODE = "memory: the in-process bus serves one process, one node; nothing crosses nodes"


@only("redis", ONE_NODE)
async def test_another_node_gets_equal_envelopes_in_order(nodes: Nodes) -> None:
    a, b = await nodes.node("a"), await nodes.node("b")
    at_b, failing = Recorder(), Failing()
    b.subscribe(failing)
    b.subscribe(at_b)
    cid, ann, ben = ids(3)
    await hears(b, [cid], [ann, ben])
    events = assorted(cid, ann, ben)
    more = [delivered(cid, seq) for seq in range(1, 51)]

    await a.publish(events)
    for event in more:  # one publish each: several Redis messages, still in order
        await a.publish([event])

    expected = envelopes(events) + envelopes(more)
    await eventually(lambda: len(at_b.events) >= len(expected), "node b got every event")
    assert at_b.events == expected
    assert failing.calls == len(expected)


@only("redis", ONE_NODE)
async def test_a_node_does_not_get_its_own_publications_twice(nodes: Nodes) -> None:
    a, b = await nodes.node("a"), await nodes.node("b")
    at_a, at_b = Recorder(), Recorder()
    a.subscribe(at_a)
    b.subscribe(at_b)
    cid = uuid.uuid4()
    await hears(a, [cid])
    await hears(b, [cid])
    from_a = [delivered(cid, seq) for seq in range(1, 6)]
    await a.publish(from_a)
    await eventually(lambda: len(at_b.events) == len(from_a), "node b got a's events")

    # B publishes after receiving A's events, so A's subscription holds A's own message
    # before B's: by the time A has B's, it would have delivered its own a second time.
    marker = delivered(cid, 99)
    await b.publish([marker])
    await eventually(lambda: len(at_a.events) > len(from_a), "node a got b's event")
    await asyncio.sleep(0.1)  # and anything else that might still come

    assert at_a.events == [*envelopes(from_a), marker.envelope()]
    assert at_b.events == [*envelopes(from_a), marker.envelope()]


@only("redis", ONE_NODE)
async def test_a_lost_subscription_is_renewed_and_subscribers_resync(
    nodes: Nodes, seam: Seam
) -> None:
    client, name = nodes.named_client()
    a = await nodes.node("a", redis=client)
    b = await nodes.node("b")
    first, second = Recorder(), Recorder()
    a.subscribe(first)
    a.subscribe(second)
    cid = uuid.uuid4()
    await hears(a, [cid])

    await b.publish([delivered(cid, 1)])
    await eventually(lambda: len(first.events) == 1, "node a got the first event")

    # Cut node a's subscription (and only its: other tests may share this Redis).
    subscribed = [c for c in await seam.client.client_list(_type="pubsub") if c["name"] == name]
    assert len(subscribed) == 1, subscribed
    await seam.client.client_kill_filter(_id=subscribed[0]["id"])

    await eventually(
        lambda: first.resyncs == 1 and second.resyncs == 1, "every subscriber resynced"
    )
    reconnects = nodes.metrics["a"].registry.get_sample_value("hubbub_redis_reconnects_total")
    assert reconnects == 1

    after = [delivered(cid, 2), delivered(cid, 3)]
    await b.publish(after)
    await eventually(lambda: len(first.events) == 3, "node a got events after resubscribing")
    assert first.events[1:] == envelopes(after)
    assert second.events == first.events
    assert (first.resyncs, second.resyncs) == (1, 1)
    # Publishing from node a goes on too.
    at_b = Recorder()
    b.subscribe(at_b)
    await hears(b, [cid])
    await a.publish([delivered(cid, 4)])
    await eventually(lambda: len(at_b.events) == 1, "node b got a's event")


@only("redis", ONE_NODE)
async def test_an_event_reaches_only_the_nodes_holding_its_audience(nodes: Nodes) -> None:
    a, b, c = await nodes.node("a"), await nodes.node("b"), await nodes.node("c")
    at_b, at_c = Recorder(), Recorder()
    b.subscribe(at_b)
    c.subscribe(at_c)
    cid, other, ann, ben = ids(4)
    await hears(b, [cid])
    await hears(c, [other], [ann])
    to_cid = [delivered(cid, seq) for seq in range(1, 4)]
    to_ben = UnreadCount(cid, ben, 1, 1)  # ben's sockets are on no node
    to_ann = UnreadCount(other, ann, 2, 2)
    presence = UserOnline(ann, datetime(2026, 1, 2, tzinfo=UTC))  # contacts: every node

    await a.publish([*to_cid, to_ben, to_ann, presence])
    # C's last event was published after everything else: once C has it, B has had
    # the time to get what A published for it.
    await eventually(lambda: len(at_c.events) == 2, "node c got ann's events")
    await eventually(lambda: len(at_b.events) == 4, "node b got its conversation's events")
    await asyncio.sleep(0.1)  # and anything else that might still come

    assert at_b.events == [*envelopes(to_cid), presence.envelope()]
    assert at_c.events == [to_ann.envelope(), presence.envelope()]


@only("redis", ONE_NODE)
async def test_a_node_that_gains_a_socket_starts_receiving(nodes: Nodes) -> None:
    a, b = await nodes.node("a"), await nodes.node("b")
    at_b = Recorder()
    b.subscribe(at_b)
    cid, ann = ids(2)
    await hears(b, users=[ann])
    # B holds no socket of the conversation yet; ann's event, published after it, tells
    # when Redis has run the first PUBLISH.
    before = [delivered(cid, 1), UnreadCount(cid, ann, 1, 1)]
    await a.publish(before)
    await eventually(lambda: len(at_b.events) == 1, "node b got ann's event")

    await hears(b, [cid])
    after = [delivered(cid, 2), ParticipantRemoved(cid, ann)]
    await a.publish(after)
    await eventually(lambda: len(at_b.events) == 3, "node b got the events after joining")
    await asyncio.sleep(0.1)

    # The removal went to the conversation and to ann: b holds both, gets it once.
    assert at_b.events == [before[1].envelope(), *envelopes(after)]

    # The last socket goes: b stops hearing the conversation.
    b.interest.conversation(cid, False)
    b.interest.user(ann, False)
    # A subscription after the unsubscriptions, on the same connection: once Redis has
    # confirmed it, it has run them.
    marker = uuid.uuid4()
    await hears(b, [marker])
    last = [delivered(cid, 3), delivered(marker, 1)]
    await a.publish(last)
    await eventually(lambda: len(at_b.events) == 4, "node b got the marker")
    await asyncio.sleep(0.1)
    assert at_b.events[3:] == [last[1].envelope()]

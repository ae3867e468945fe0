"""The event bus: the doorbell rung after a commit, so that sockets hear of a change.

The unit of work publishes typed events (`hubbub.events.catalog`) only after their
transaction has committed; each node's hub subscribes and delivers each event's
`Envelope` to its own sockets in the audience. The
database stays the truth: a lost event costs a live update, never data, and clients
recover it with `sync`.

`InProcessEventBus` serves the embedded default. `RedisEventBus` delivers to this
node's subscribers at once and also publishes on Redis for the other nodes, on the
channels of the event's audience only (`hubbub.realtime.channels`): a node hears the
events of the conversations and users it holds sockets of, and of `all`. The hub says
which (`interest`); a handshake or a join waits until Redis has confirmed the new
subscriptions (`Interest.ready`) before the client can `sync`, so an event committed
after that sync's read reaches the socket. While Redis is away, local delivery goes
on, publishing is counted as failed, and the bus resubscribes with backoff; once it is
back it asks every subscriber to `resync` (events may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline, PubSub

from hubbub.events.catalog import ServerEvent
from hubbub.events.envelope import Envelope
from hubbub.metrics import Metrics
from hubbub.realtime.channels import (
    EVERY_EVENT,
    EVERY_NODE,
    Interest,
    Numbered,
    channels_of,
    conversation_channel,
    decode_run,
    encode_run,
    user_channel,
)
from hubbub.realtime.pipelining import Pipelined

log = logging.getLogger("hubbub.bus")

# How long a handshake waits for Redis to confirm its new subscriptions at most.
READY_S = 5.0
# How long stopping waits for the listener to end, before and after closing its
# connection.
STOP_S = 2.0
# The PINGs that follow each round of subscription changes carry this, to tell them from
# redis-py's own health checks.
PING_TAG = b"hubbub-interest"


class BusSubscriber(Protocol):
    """A node's receiver of events (its hub)."""

    async def deliver(self, envelope: Envelope) -> None:
        """Write the event to this node's sockets in its audience."""

    async def resync(self) -> None:
        """Events may have been missed (the bus lost its connection and has it back):
        re-read whatever the subscriber derives from them."""


class EventBus(Protocol):
    @property
    def interest(self) -> Interest: ...

    async def publish(self, events: Sequence[ServerEvent]) -> None: ...

    def subscribe(self, subscriber: BusSubscriber) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessEventBus:
    def __init__(self) -> None:
        self._subscribers: list[BusSubscriber] = []
        self.interest: Interest = EVERY_EVENT

    def subscribe(self, subscriber: BusSubscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, events: Sequence[ServerEvent]) -> None:
        for event in events:
            await _deliver(self._subscribers, event.envelope())

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


async def _deliver(subscribers: list[BusSubscriber], envelope: Envelope) -> None:
    for subscriber in subscribers:
        try:
            await subscriber.deliver(envelope)
        except Exception:  # one subscriber's failure must not stop the others
            log.exception("event subscriber failed on %s", envelope.name)


class _Run:
    """Consecutive events bound for the same channels, published as one message on each
    (encoded once, when the first of its PUBLISHes joins a pipeline; closed then)."""

    __slots__ = ("channels", "encoded", "envelopes", "first")

    def __init__(self, channels: tuple[str, ...], first: int) -> None:
        self.channels = channels
        self.first = first
        self.envelopes: list[bytes] = []
        self.encoded: bytes | None = None


class RedisEventBus:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        node_id: str,
        metrics: Metrics,
    ) -> None:
        self._redis = redis
        self._prefix = prefix + "events:"
        self._node = node_id
        self._own = node_id.encode() + b"\n"
        self._subscribers: list[BusSubscriber] = []
        self._task: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None  # the listener's connection
        self._stopping = False
        self._metrics = metrics
        self.connected = asyncio.Event()
        self._outbox = Pipelined(
            redis,
            on_lost=self._publish_lost,
            observe=metrics.redis_seconds.labels("publish").observe,
        )
        # Events published since the last PUBLISH went into a pipeline: they go out
        # together (redis-py's cost is per command, on both ends).
        self._runs: list[_Run] = []
        self._number = 0
        self._seen = Numbered()
        self.interest = RedisInterest(self._prefix)

    def subscribe(self, subscriber: BusSubscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, events: Sequence[ServerEvent]) -> None:
        for event in events:
            envelope = event.envelope()
            await _deliver(self._subscribers, envelope)
            # Sent with whatever else this node publishes meanwhile, in order, unawaited.
            self._number += 1
            channels = channels_of(envelope)
            run = self._runs[-1] if self._runs else None
            if run is None or run.encoded is not None or run.channels != channels:
                run = _Run(channels, self._number)
                self._runs.append(run)
                for channel in channels:
                    self._outbox.fire(partial(self._publish_run, run, self._prefix + channel))
            run.envelopes.append(envelope.to_json())

    def _publish_run(self, run: _Run, channel: str, pipe: Pipeline) -> object:
        if run.encoded is None:
            run.encoded = encode_run(self._node, run.first, run.envelopes)
            self._runs.remove(run)
        return pipe.publish(channel, run.encoded)

    def _publish_lost(self, exc: BaseException) -> None:
        # The events are committed; other nodes' clients will fetch them with `sync`.
        self._metrics.redis_failures.labels("publish").inc()
        log.warning("redis unavailable: events not sent to other nodes (%s)", exc)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="hubbub-redis-bus")

    async def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(Exception):
            await self._outbox.flush()
        await self.interest.stop()
        task = self._task
        if task is None:
            return
        task.cancel()
        if not (await asyncio.wait({task}, timeout=STOP_S))[0]:
            # redis-py's blocking read once outlived the cancellation (a process's exit
            # waited for it for twenty minutes): closing its connection ends the read.
            log.warning("redis bus: the listener outlived its cancellation; closing it")
            pubsub = self._pubsub
            if pubsub is not None and pubsub.connection is not None:
                with contextlib.suppress(Exception):
                    await pubsub.connection.disconnect(nowait=True)
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_S)
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()

    async def _listen(self) -> None:
        delay = 0.1
        first = True
        while not self._stopping:
            pubsub = self._pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
            try:
                await self.interest.attach(pubsub)
                self.connected.set()
                if not first:
                    log.warning("redis bus: resubscribed")
                    self._metrics.redis_reconnects.inc()
                    for subscriber in self._subscribers:
                        await subscriber.resync()
                first = False
                delay = 0.1
                async for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "message":
                        await self._received(message["data"])
                    elif kind == "subscribe":
                        self.interest.subscribed(message["channel"])
                    elif kind == "pong":
                        self.interest.ponged(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                first = False  # whatever was published meanwhile was missed here
                self.connected.clear()
                self.interest.detach()
                self._metrics.redis_failures.labels("subscribe").inc()
                log.warning("redis bus: connection lost; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                self.interest.detach()
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                except Exception:  # the connection is already gone
                    log.debug("redis bus: close failed", exc_info=True)

    async def _received(self, data: bytes) -> None:
        if data.startswith(self._own):
            return  # this node delivered it already
        origin, number, envelopes = decode_run(data)
        for envelope in self._seen.fresh(origin, number, envelopes):
            await _deliver(self._subscribers, envelope)


# SUBSCRIBE and UNSUBSCRIBE take this many channels per command at most.
CHANNELS_PER_COMMAND = 5_000


class RedisInterest:
    """A node's subscriptions: the channel every node hears, and the channels of the
    conversations and users the hub has sockets for. Changes go to Redis from one task,
    as few commands as there are changes waiting, each round followed by a PING on the
    same connection: its PONG comes after Redis has run the round, so `ready` waits for
    one reply, however many channels the round carried."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._wanted: set[str] = {prefix + EVERY_NODE}
        self._live: set[str] = set()
        self._pending: set[str] = set()  # wanted, not confirmed yet
        self._changed: set[str] = set()
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._next: asyncio.Future[None] | None = None  # the PONG after the next round
        self._last: asyncio.Future[None] | None = None  # the PONG after the last round
        self._pongs: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._wanted)

    def conversation(self, conversation_id: uuid.UUID, wanted: bool) -> None:
        self._change(self._prefix + conversation_channel(conversation_id), wanted)

    def user(self, user_id: uuid.UUID, wanted: bool) -> None:
        self._change(self._prefix + user_channel(user_id), wanted)

    def _change(self, channel: str, wanted: bool) -> None:
        if wanted:
            self._wanted.add(channel)
            if channel not in self._live:
                self._pending.add(channel)
        else:
            self._wanted.discard(channel)
            self._pending.discard(channel)
        self._changed.add(channel)
        if self._pubsub is not None and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._apply(), name="hubbub-redis-interest")

    async def ready(self) -> None:
        if self._pubsub is None or not self._pending:
            return  # all confirmed; or Redis is away, and the resync after it covers it
        if self._changed:
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            future: asyncio.Future[None] | None = self._next
        else:
            future = self._last
        if future is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), READY_S)

    async def sent(self) -> None:
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def attach(self, pubsub: PubSub) -> None:
        """A new subscription connection: subscribe to everything wanted."""
        self._live.clear()
        self._changed.clear()
        self._pending = set(self._wanted)
        wanted = list(self._wanted)
        for i in range(0, len(wanted), CHANNELS_PER_COMMAND):
            await pubsub.subscribe(*wanted[i : i + CHANNELS_PER_COMMAND])
        self._last = asyncio.get_running_loop().create_future()
        await self._ping(pubsub, self._last)
        self._pubsub = pubsub
        if self._changed:
            self._task = asyncio.create_task(self._apply(), name="hubbub-redis-interest")

    def detach(self) -> None:
        self._pubsub = None
        self._live.clear()
        for future in (*self._pongs, self._next):
            if future is not None and not future.done():
                future.set_result(None)
        self._pongs.clear()
        self._next = self._last = None

    def subscribed(self, channel: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        if name in self._wanted:
            self._live.add(name)
        self._pending.discard(name)

    def ponged(self, data: bytes | str) -> None:
        if data in (PING_TAG, PING_TAG.decode()) and self._pongs:
            future = self._pongs.popleft()
            if not future.done():
                future.set_result(None)

    async def _ping(self, pubsub: PubSub, future: asyncio.Future[None]) -> None:
        # Queued before the PING is sent: its PONG may be read before `ping` returns.
        self._pongs.append(future)
        await pubsub.ping(PING_TAG)

    async def _apply(self) -> None:
        while self._changed and self._pubsub is not None:
            pubsub = self._pubsub
            changed, self._changed = self._changed, set()
            # Whoever waits from now on for these changes waits for this round's PONG.
            future = self._next or asyncio.get_running_loop().create_future()
            self._next, self._last = None, future
            adds = [c for c in changed if c in self._wanted and c not in self._live]
            drops = [c for c in changed if c not in self._wanted]
            self._live.difference_update(drops)
            try:  # drops first: a confirmed SUBSCRIBE means the drops before it ran
                for i in range(0, len(drops), CHANNELS_PER_COMMAND):
                    await pubsub.unsubscribe(*drops[i : i + CHANNELS_PER_COMMAND])
                for i in range(0, len(adds), CHANNELS_PER_COMMAND):
                    await pubsub.subscribe(*adds[i : i + CHANNELS_PER_COMMAND])
                await self._ping(pubsub, future)
            except Exception:  # the listener sees the lost connection and resubscribes
                log.debug("redis bus: subscription change failed", exc_info=True)
                return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

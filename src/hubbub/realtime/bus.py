"""The event bus: the doorbell rung after a commit, so that sockets hear of a change.

The unit of work publishes typed events (`hubbub.events.catalog`) only after their
transaction has committed; each node's hub subscribes and delivers each event's
`Envelope` to its own sockets in the audience. The
database stays the truth: a lost event costs a live update, never data, and clients
recover it with `sync`.

`InProcessEventBus` serves the embedded default. `RedisEventBus` delivers to this
node's subscribers at once and also publishes on a Redis channel for the other nodes
(each ignores what it published itself). While Redis is away, local delivery goes on,
publishing is counted as failed, and the bus resubscribes with backoff; once it is back
it asks every subscriber to `resync` (events may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from hubbub.events.catalog import ServerEvent
from hubbub.events.envelope import Envelope
from hubbub.metrics import Metrics
from hubbub.realtime.pipelining import Pipelined

log = logging.getLogger("hubbub.bus")


def encode_envelopes(origin: str, envelopes: list[bytes]) -> bytes:
    """One Redis message for several events (each `Envelope.to_json`): the publishing
    node, a newline, then the envelopes as a JSON array. A node hears its own
    publications too and skips them by the prefix, undecoded."""
    return origin.encode() + b"\n[" + b",".join(envelopes) + b"]"


def decode_envelopes(raw: bytes) -> tuple[str, list[Envelope]]:
    origin, _, body = raw.partition(b"\n")
    return origin.decode(), [Envelope.from_dict(d) for d in orjson.loads(body)]


class BusSubscriber(Protocol):
    """A node's receiver of events (its hub)."""

    async def deliver(self, envelope: Envelope) -> None:
        """Write the event to this node's sockets in its audience."""

    async def resync(self) -> None:
        """Events may have been missed (the bus lost its connection and has it back):
        re-read whatever the subscriber derives from them."""


class EventBus(Protocol):
    async def publish(self, events: Sequence[ServerEvent]) -> None: ...

    def subscribe(self, subscriber: BusSubscriber) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessEventBus:
    def __init__(self) -> None:
        self._subscribers: list[BusSubscriber] = []

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
        self._channel = prefix + "events"
        self._node = node_id
        self._own = node_id.encode() + b"\n"
        self._subscribers: list[BusSubscriber] = []
        self._task: asyncio.Task[None] | None = None
        self._metrics = metrics
        self.connected = asyncio.Event()
        self._outbox = Pipelined(
            redis,
            on_lost=self._publish_lost,
            observe=metrics.redis_seconds.labels("publish").observe,
        )
        # Events published since the last PUBLISH went into a pipeline: they go out
        # together, as one message (redis-py's cost is per command, on both ends).
        self._unsent: list[bytes] = []

    def subscribe(self, subscriber: BusSubscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, events: Sequence[ServerEvent]) -> None:
        for event in events:
            envelope = event.envelope()
            await _deliver(self._subscribers, envelope)
            # Sent with whatever else this node publishes meanwhile, in order, unawaited.
            if not self._unsent:
                self._outbox.fire(self._publish_unsent)
            self._unsent.append(envelope.to_json())

    def _publish_unsent(self, pipe: Pipeline) -> object:
        events, self._unsent = self._unsent, []
        return pipe.publish(self._channel, encode_envelopes(self._node, events))

    def _publish_lost(self, exc: BaseException) -> None:
        # The events are committed; other nodes' clients will fetch them with `sync`.
        self._metrics.redis_failures.labels("publish").inc()
        log.warning("redis unavailable: events not sent to other nodes (%s)", exc)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="hubbub-redis-bus")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._outbox.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        delay = 0.1
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self.connected.set()
                if not first:
                    log.warning("redis bus: resubscribed")
                    self._metrics.redis_reconnects.inc()
                    for subscriber in self._subscribers:
                        await subscriber.resync()
                first = False
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message["data"]
                    if data.startswith(self._own):
                        continue  # this node delivered it already
                    _, envelopes = decode_envelopes(data)
                    for envelope in envelopes:
                        await _deliver(self._subscribers, envelope)
            except asyncio.CancelledError:
                raise
            except Exception:
                first = False  # whatever was published meanwhile was missed here
                self.connected.clear()
                self._metrics.redis_failures.labels("subscribe").inc()
                log.warning("redis bus: connection lost; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                except Exception:  # the connection is already gone
                    log.debug("redis bus: close failed", exc_info=True)

"""The event bus: the doorbell rung after a commit, so that sockets hear of a change.

Services publish an `Event` only after their transaction has committed; each node's
gateway subscribes and delivers the event to its own sockets in the audience. The
database stays the truth: a lost event costs a live update, never data, and clients
recover it with `sync`.

`InProcessEventBus` serves the embedded default. `RedisEventBus` delivers to this
node's subscribers at once and also publishes on a Redis channel for the other nodes
(each ignores what it published itself). While Redis is away, local delivery goes on,
publishing is counted as failed, and the subscriber reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from hubbub.realtime.pipelining import Pipelined

log = logging.getLogger("hubbub.bus")


@dataclass(frozen=True, slots=True)
class Event:
    """A server -> client event and who should receive it.

    The audience is the union of: the sockets in `conversation_id`'s room, every socket
    of `user_ids`, and every socket of the users who share a conversation or a space
    with `contacts_of`; minus `exclude_socket` and the sockets of `exclude_user`.
    `payload` is JSON-ready (camelCase, times as strings), encoded once for everyone.
    """

    name: str
    payload: dict[str, Any]
    conversation_id: uuid.UUID | None = None
    user_ids: tuple[uuid.UUID, ...] = ()
    contacts_of: uuid.UUID | None = None
    exclude_socket: str | None = None
    # Leave out every socket of this user (typing goes to the *other* participants).
    exclude_user: uuid.UUID | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "n": self.name,
                "p": self.payload,
                "c": str(self.conversation_id) if self.conversation_id else None,
                "u": [str(u) for u in self.user_ids],
                "k": str(self.contacts_of) if self.contacts_of else None,
                "x": self.exclude_socket,
                "e": str(self.exclude_user) if self.exclude_user else None,
            }
        )

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Event:
        return Event(
            name=d["n"],
            payload=d["p"],
            conversation_id=uuid.UUID(d["c"]) if d["c"] else None,
            user_ids=tuple(uuid.UUID(u) for u in d["u"]),
            contacts_of=uuid.UUID(d["k"]) if d["k"] else None,
            exclude_socket=d["x"],
            exclude_user=uuid.UUID(d["e"]) if d["e"] else None,
        )


def encode_events(origin: str, events: list[bytes]) -> bytes:
    """One Redis message for several events (each `Event.to_json`): the publishing node,
    a newline, then the events as a JSON array. A node hears its own publications too
    and skips them by the prefix, undecoded."""
    return origin.encode() + b"\n[" + b",".join(events) + b"]"


def decode_events(raw: bytes) -> tuple[str, list[Event]]:
    origin, _, body = raw.partition(b"\n")
    return origin.decode(), [Event.from_dict(d) for d in orjson.loads(body)]


Subscriber = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, subscriber: Subscriber) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessEventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: Event) -> None:
        await _deliver(self._subscribers, event)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


async def _deliver(subscribers: list[Subscriber], event: Event) -> None:
    for subscriber in subscribers:
        try:
            await subscriber(event)
        except Exception:  # one subscriber's failure must not stop the others
            log.exception("event subscriber failed on %s", event.name)


class RedisEventBus:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        node_id: str,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._redis = redis
        self._channel = prefix + "events"
        self._node = node_id
        self._own = node_id.encode() + b"\n"
        self._subscribers: list[Subscriber] = []
        self._task: asyncio.Task[None] | None = None
        self._on_reconnect = on_reconnect
        self._on_failure = on_failure or (lambda _: None)
        self.connected = asyncio.Event()
        self._outbox = Pipelined(redis, on_lost=self._publish_lost)
        # Events published since the last PUBLISH went into a pipeline: they go out
        # together, as one message (redis-py's cost is per command, on both ends).
        self._unsent: list[bytes] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def set_reconnect_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._on_reconnect = hook

    async def publish(self, event: Event) -> None:
        await _deliver(self._subscribers, event)
        # Sent with whatever else this node publishes meanwhile, in order, unawaited.
        if not self._unsent:
            self._outbox.fire(self._publish_unsent)
        self._unsent.append(event.to_json())

    def _publish_unsent(self, pipe: Pipeline) -> object:
        events, self._unsent = self._unsent, []
        return pipe.publish(self._channel, encode_events(self._node, events))

    def _publish_lost(self, exc: BaseException) -> None:
        # The events are committed; other nodes' clients will fetch them with `sync`.
        self._on_failure("publish")
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
                    self._on_failure("reconnect")
                    if self._on_reconnect is not None:
                        await self._on_reconnect()
                first = False
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message["data"]
                    if data.startswith(self._own):
                        continue  # this node delivered it already
                    _, events = decode_events(data)
                    for event in events:
                        await _deliver(self._subscribers, event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.connected.clear()
                self._on_failure("subscribe")
                log.warning("redis bus: connection lost; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                except Exception:  # the connection is already gone
                    log.debug("redis bus: close failed", exc_info=True)

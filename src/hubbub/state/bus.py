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

from hubbub.state.pipelining import Pipelined

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

    def encode(self, origin: str) -> bytes:
        return orjson.dumps(
            {
                "o": origin,
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
    def decode(raw: bytes) -> tuple[str, Event]:
        d = orjson.loads(raw)
        return d["o"], Event(
            name=d["n"],
            payload=d["p"],
            conversation_id=uuid.UUID(d["c"]) if d["c"] else None,
            user_ids=tuple(uuid.UUID(u) for u in d["u"]),
            contacts_of=uuid.UUID(d["k"]) if d["k"] else None,
            exclude_socket=d["x"],
            exclude_user=uuid.UUID(d["e"]) if d["e"] else None,
        )


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
        self._subscribers: list[Subscriber] = []
        self._task: asyncio.Task[None] | None = None
        self._on_reconnect = on_reconnect
        self._on_failure = on_failure or (lambda _: None)
        self.connected = asyncio.Event()
        self._outbox = Pipelined(redis, on_lost=self._publish_lost)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def set_reconnect_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._on_reconnect = hook

    async def publish(self, event: Event) -> None:
        await _deliver(self._subscribers, event)
        payload = event.encode(self._node)
        # Sent with whatever else this node publishes meanwhile, in order, unawaited.
        self._outbox.fire(lambda pipe: pipe.publish(self._channel, payload))

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
                    origin, event = Event.decode(message["data"])
                    if origin != self._node:
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

"""The event bus: the doorbell rung after a commit, so that sockets hear of a change.

Services publish an `Event` only after their transaction has committed; the gateway
subscribes and delivers each event to the sockets of its audience. The database stays
the truth: a lost event costs a live update, never data, and clients recover it with
`sync`. `InProcessEventBus` serves the embedded default; the scaled mode's Redis bus
implements the same interface.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Event:
    """A server -> client event and who should receive it.

    `payload` is JSON-ready (camelCase, times as strings), encoded once for everyone.
    """

    name: str
    payload: dict[str, Any]
    conversation_id: uuid.UUID | None = None
    user_ids: tuple[uuid.UUID, ...] = ()
    # Everyone who shares a conversation or a space with this user (presence, profile).
    contacts_of: uuid.UUID | None = None
    exclude_socket: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, subscriber: Subscriber) -> None: ...


class InProcessEventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            await subscriber(event)

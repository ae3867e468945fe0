"""Helpers for tests that need conversations and messages (through the real HTTP API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hubbub.realtime.bus import Event
from tests.conftest import Account


async def create_group(
    client: httpx.AsyncClient, owner: Account, *members: Account, name: str = "team"
) -> str:
    r = await client.post(
        "/conversations",
        headers=owner.headers,
        json={"type": "GROUP", "name": name, "participantIds": [str(m.id) for m in members]},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["conversation"]["id"])


async def create_private(client: httpx.AsyncClient, a: Account, b: Account) -> str:
    r = await client.post(
        "/conversations", headers=a.headers, json={"type": "PRIVATE", "participantIds": [str(b.id)]}
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["conversation"]["id"])


async def send(
    client: httpx.AsyncClient, who: Account, conversation_id: str, content: str = "hi", **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/conversations/{conversation_id}/messages",
        headers=who.headers,
        json={"content": content, **extra},
    )
    assert r.status_code in (200, 201), r.text
    message: dict[str, Any] = r.json()["message"]
    return message


class Recorder:
    """Collects every event the node's bus publishes."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]

    def clear(self) -> None:
        self.events.clear()


RecordFn = Callable[[Event], Awaitable[None]]

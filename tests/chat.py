"""Helpers for tests that need conversations and messages (through the real HTTP API)."""

from __future__ import annotations

from typing import Any

import httpx

from hubbub.events.envelope import Envelope
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
    """A bus subscriber that collects every event the node publishes, as it reaches a
    hub (its envelope: wire name and payload, typed audience and effect)."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.resyncs = 0

    async def deliver(self, envelope: Envelope) -> None:
        self.events.append(envelope)

    async def resync(self) -> None:
        self.resyncs += 1

    def named(self, name: str) -> list[Envelope]:
        return [e for e in self.events if e.name == name]

    def clear(self) -> None:
        self.events.clear()

"""Helpers for tests that need conversations and messages (through the real HTTP API)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert

from hubbub.app import Node
from hubbub.domain.enums import ParticipantStatus, Role
from hubbub.domain.ids import new_id, utcnow
from hubbub.events.envelope import Envelope
from hubbub.store.models import Participant, User
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


async def insert_members(node: Node, conversation_id: str, count: int) -> None:
    """`count` new users as MEMBERs of a conversation, straight into the database (for
    big groups, which the API would make slowly), joined a second apart in order."""
    now = utcnow()
    users = [new_id() for _ in range(count)]
    async with node.services.db.write() as session:
        await session.execute(
            insert(User),
            [
                {
                    "id": uid,
                    "username": f"m{i}_{uid.hex[-8:]}",
                    "username_key": f"m{i}_{uid.hex[-8:]}",
                    "email": f"m{i}_{uid.hex[-8:]}@example.com",
                    "password_hash": "x",
                    "is_active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, uid in enumerate(users)
            ],
        )
        await session.execute(
            insert(Participant),
            [
                {
                    "id": new_id(),
                    "conversation_id": uuid.UUID(conversation_id),
                    "user_id": uid,
                    "role": Role.MEMBER,
                    "status": ParticipantStatus.ACTIVE,
                    "joined_at": now + timedelta(seconds=i + 1),
                    "created_at": now,
                    "updated_at": now,
                }
                for i, uid in enumerate(users)
            ],
        )

"""A node with a fixed cast of users, shared by the tests of one module.

Every write through the API is a commit, so the permission and bad-input modules
register their cast once per module (`open_world`) and build only the conversations,
spaces and messages a test needs. `reset` empties every table except
the users' own (users, tokens); `snapshot` and `restore` save and put back a scene, so
that a scene built once through the API serves many tests. The whole database is
emptied when the module is done, as the per-test `node` fixture does.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import delete, insert, select

from hubbub.app import Node, create_app
from hubbub.store.models import Base
from tests.conftest import Account, Backend, empty_database, make_settings

# Tables that belong to the cast itself and survive `reset`.
CAST_TABLES = frozenset({"users", "refresh_tokens", "revoked_tokens"})
# What "stores nothing" is checked against.
STORED = (
    "messages",
    "conversations",
    "conversation_participants",
    "message_reactions",
    "spaces",
    "space_members",
)


@dataclass
class World:
    node: Node
    client: httpx.AsyncClient
    users: dict[str, Account]

    async def call(
        self, who: Account | None, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(who.headers) if who is not None else {}
        headers.update(kwargs.pop("headers", {}))
        if body is not None:
            kwargs["json"] = body
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def ok(
        self, who: Account, method: str, path: str, body: Any = None, status: int = 200
    ) -> dict[str, Any]:
        response = await self.call(who, method, path, body)
        assert response.status_code == status, response.text
        result: dict[str, Any] = response.json()
        return result

    async def send(self, who: Account, conversation_id: str, content: str, **extra: Any) -> str:
        body = await self.ok(
            who,
            "POST",
            f"/conversations/{conversation_id}/messages",
            {"content": content, **extra},
            201,
        )
        message_id: str = body["message"]["id"]
        return message_id


async def _register(client: httpx.AsyncClient, name: str) -> Account:
    username = f"{name}_{secrets.token_hex(3)}"
    email = f"{username}@example.com"
    password = "correct horse battery"
    response = await client.post(
        "/auth/register", json={"username": username, "email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(
        id=uuid.UUID(body["user"]["id"]),
        username=username,
        email=email,
        password=password,
        token=body["token"],
        refresh_token=body["refreshToken"],
    )


@asynccontextmanager
async def open_world(backend: Backend, names: Iterable[str]) -> AsyncIterator[World]:
    # Sends and budgets are not what these modules test (one cast does every test's
    # writes): no rate limit gets in the way.
    settings = make_settings(
        backend, send_rate_per_s=1e6, send_burst=1_000_000, budgets="*=1000000/1000000"
    )
    app = create_app(settings)
    async with app.http.router.lifespan_context(app.http):
        try:
            transport = httpx.ASGITransport(app=app.asgi, client=("203.0.113.8", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                users = {name: await _register(c, name) for name in names}
                yield World(node=app, client=c, users=users)
        finally:
            await empty_database(app)


async def reset(node: Node) -> None:
    """Empty everything but the cast: conversations, spaces, messages, files."""
    async with node.services.db.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in CAST_TABLES:
                await session.execute(delete(table))


Snapshot = dict[str, list[tuple[Any, ...]]]


async def restore(node: Node, rows: Snapshot) -> None:
    """Put back the state a `snapshot` saw (its ids and all), in one transaction."""
    async with node.services.db.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in CAST_TABLES:
                await session.execute(delete(table))
        for table in Base.metadata.sorted_tables:
            if rows.get(table.name):
                names = table.columns.keys()
                await session.execute(
                    insert(table), [dict(zip(names, row, strict=True)) for row in rows[table.name]]
                )


async def snapshot(node: Node) -> Snapshot:
    """Every row of every table but the cast's: equal snapshots mean nothing changed."""
    rows: Snapshot = {}
    async with node.services.db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in CAST_TABLES:
                continue
            found = (await session.execute(select(table))).all()
            rows[table.name] = sorted((tuple(r) for r in found), key=repr)
    return rows


def counts(rows: Snapshot) -> dict[str, int]:
    """The row counts of the tables that "stores nothing" is about, from a snapshot."""
    return {table: len(rows[table]) for table in STORED}

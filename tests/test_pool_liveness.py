"""A pooled PostgreSQL connection is pinged at checkout unless it was in use a moment
ago (`hubbub.store.liveness`): one the database cut is replaced before anyone uses it,
and one checked in within the window is handed out without a round trip.

Each test cuts a real connection with `pg_terminate_backend` from another connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hubbub.app import Node
from hubbub.store.dialect import async_url
from hubbub.store.liveness import ping_unless_recent
from tests.conftest import Backend, RegisterFn

pytestmark = pytest.mark.postgres_only


async def cut(database_url: str, pids: set[int]) -> None:
    """The database ends these backends, as a restart or an idle timeout would, and
    answers once each has exited (the timeout argument, in ms), so that the next use
    of a cut connection meets a closed socket, never a backend still on its way out."""
    admin = await asyncpg.connect(database_url.replace("postgresql://", "postgres://", 1))
    try:
        ended = await admin.fetch(
            "SELECT pg_terminate_backend(pid, 10000) FROM unnest($1::int[]) pid", sorted(pids)
        )
        assert all(row[0] for row in ended)
    finally:
        await admin.close()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


@pytest.fixture
async def engine_of(backend: Backend) -> AsyncIterator[list[AsyncEngine]]:
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()


async def one_connection_cut(
    backend: Backend, made: list[AsyncEngine], recent_s: float
) -> tuple[AsyncEngine, int]:
    """An engine of one pooled connection, used once and then cut by the database; the
    cut connection's backend pid."""
    engine = create_async_engine(async_url(backend.database_url), pool_size=1, max_overflow=0)
    ping_unless_recent(engine, recent_s=recent_s)
    made.append(engine)
    first = await backend_pid(engine)
    await cut(backend.database_url, {first})
    return engine, first


async def test_a_connection_idle_past_the_window_is_pinged_and_replaced_when_cut(
    backend: Backend, engine_of: list[AsyncEngine]
) -> None:
    engine, first = await one_connection_cut(backend, engine_of, recent_s=0.05)
    await asyncio.sleep(0.1)
    second = await backend_pid(engine)  # the ping failed: a new connection answers
    assert second != first


async def test_a_connection_used_within_the_window_is_handed_out_unpinged(
    backend: Backend, engine_of: list[AsyncEngine]
) -> None:
    engine, first = await one_connection_cut(backend, engine_of, recent_s=60)
    # No ping: the cut shows only when the statement runs, and the pool then forgets
    # the connection, so the next checkout connects afresh.
    with pytest.raises(DBAPIError):
        await backend_pid(engine)
    assert await backend_pid(engine) != first


async def test_a_node_answers_after_the_database_cut_its_idle_connections(
    node: Node, client: httpx.AsyncClient, register: RegisterFn, backend: Backend
) -> None:
    a = await register()
    assert (await client.get("/users/me", headers=a.headers)).status_code == 200
    engine = node.services.db.read_engine
    idle = [await engine.connect() for _ in range(engine.sync_engine.pool.checkedin())]
    pids = {(await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in idle}
    for conn in idle:
        await conn.close()
    await cut(backend.database_url, pids)
    await asyncio.sleep(0.6)  # past the window: each connection is pinged at checkout
    for _ in range(3):
        assert (await client.get("/users/me", headers=a.headers)).status_code == 200

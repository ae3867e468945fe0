"""Where the reads on the driver get their connection (`hubbub.store.read_connections`):
on SQLite one kept connection serves every reader at once; on PostgreSQL each reader
holds one of its own, the one given back last while it is fresh, and a connection that
failed or sat idle goes back to the pool, which pings it before anyone uses it again.

The PostgreSQL tests cut real connections with `pg_terminate_backend`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from hubbub.store.database import Database, open_database
from hubbub.store.liveness import RECENT_S
from hubbub.store.prepared import Prepared, RawBatch
from hubbub.store.read_connections import DriverReads
from tests.conftest import Backend
from tests.test_pool_liveness import cut

_ONE = Prepared(select(func.abs(-1)))
_PID = Prepared(select(func.pg_backend_pid()))


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[Database]:
    opened = open_database(backend.database_url)
    yield opened
    await opened.dispose()


def checked_out(db: Database) -> int:
    return int(db.read_engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def pid_of(reads: RawBatch) -> int:
    rows = await reads.rows(_PID, {})
    return int(rows[0][0])


async def test_readers_at_once_share_one_connection_where_reads_run_inline(
    db: Database, backend: Backend
) -> None:
    held = asyncio.Event()
    release = asyncio.Event()

    async def reader() -> None:
        async with db.driver_reads() as reads:
            assert await reads.rows(_ONE, {}) == [(1,)]
            held.set()
            await release.wait()

    first = asyncio.create_task(reader())
    await held.wait()
    async with db.driver_reads() as reads:
        assert await reads.rows(_ONE, {}) == [(1,)]
        # SQLite: the first reader's connection (inline, nothing runs between a
        # statement and its rows); PostgreSQL: a second one, asyncpg running one
        # statement at a time.
        assert checked_out(db) == (2 if backend.is_postgres else 1)
    release.set()
    await first
    await db.driver_reads.close()
    assert checked_out(db) == 0


@pytest.mark.postgres_only
async def test_the_connection_given_back_last_is_the_next_one_taken(db: Database) -> None:
    async with db.driver_reads() as reads:
        first = await pid_of(reads)
    async with db.driver_reads() as reads:
        assert await pid_of(reads) == first
    # Kept out of the pool between readers: no check-in, no checkout.
    assert checked_out(db) == 1


@pytest.mark.postgres_only
async def test_an_error_in_the_block_that_is_not_the_databases_keeps_the_connection(
    db: Database,
) -> None:
    async with db.driver_reads() as reads:
        first = await pid_of(reads)

    async def refused() -> None:
        async with db.driver_reads() as reads:
            await pid_of(reads)
            raise LookupError("a conversation the viewer is not in")

    with pytest.raises(LookupError):
        await refused()
    async with db.driver_reads() as reads:
        assert await pid_of(reads) == first


@pytest.mark.postgres_only
async def test_a_connection_cut_while_kept_fails_once_and_is_not_kept(
    db: Database, backend: Backend
) -> None:
    async with db.driver_reads() as reads:
        first = await pid_of(reads)
    await cut(backend.database_url, {first})
    # Within the window it is handed out unpinged, as the pool would: the cut shows
    # when its statement runs, and that connection is not handed out again.
    with pytest.raises(DBAPIError):
        async with db.driver_reads() as reads:
            await pid_of(reads)
    async with db.driver_reads() as reads:
        assert await pid_of(reads) != first


@pytest.mark.postgres_only
async def test_connections_idle_past_the_window_go_back_to_the_pool_and_are_pinged(
    db: Database, backend: Backend
) -> None:
    async with db.driver_reads() as a, db.driver_reads() as b:
        kept = {await pid_of(a), await pid_of(b)}
    await cut(backend.database_url, kept)
    await asyncio.sleep(RECENT_S + 0.1)
    for _ in range(3):  # no error: the pool pinged each and replaced the cut ones
        async with db.driver_reads() as reads:
            assert await pid_of(reads) not in kept


@pytest.mark.postgres_only
async def test_no_more_than_keep_connections_stay_out_of_the_pool(db: Database) -> None:
    reads = DriverReads(db.read_engine, shared=False, keep=1)
    try:
        async with reads() as a, reads() as b:
            assert await pid_of(a) != await pid_of(b)
            assert checked_out(db) == 2
        assert checked_out(db) == 1
    finally:
        await reads.close()
    assert checked_out(db) == 0


@pytest.mark.postgres_only
async def test_a_connection_in_use_when_they_close_goes_back_to_the_pool_after(
    db: Database,
) -> None:
    async with db.driver_reads() as reads:
        await pid_of(reads)
        await db.driver_reads.close()
        assert checked_out(db) == 1
    assert checked_out(db) == 0


@pytest.mark.postgres_only
async def test_a_bursts_connections_stay_open_for_the_next_burst(db: Database) -> None:
    """A storm's readers come in bursts; a connection the pool closes after one is opened
    again for the next, and each new one costs PostgreSQL a backend, asyncpg's type
    introspection and the first plans of every statement it runs."""
    burst = 15  # more than `open_database`'s pool size (10), fewer than its most (20)

    async def one_burst() -> set[int]:
        pids: list[int] = []
        all_in = asyncio.Event()
        release = asyncio.Event()

        async def reader() -> None:
            async with db.driver_reads() as reads:
                pids.append(await pid_of(reads))
                if len(pids) == burst:
                    all_in.set()
                await release.wait()

        tasks = [asyncio.create_task(reader()) for _ in range(burst)]
        await all_in.wait()
        release.set()
        await asyncio.gather(*tasks)
        return set(pids)

    first = await one_burst()
    assert len(first) == burst
    assert await one_burst() == first

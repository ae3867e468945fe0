"""Where the reads on the driver get their connection: one kept open for them where the
driver runs each statement inline, one checked out of the read engine's pool otherwise.

`hubbub.store.handshake_reads` (every handshake and HTTP call), `hubbub.queries.history`
and `hubbub.queries.changes` (pages, resumes) -> `Database.driver_reads` (this) -> the
read engine -> the driver. What runs on the connection is `hubbub.store.prepared`'s
compiled statements, without a transaction: each reads what is committed when it runs,
as under READ COMMITTED.

A checkout through SQLAlchemy's async engine (the connection, a raw connection, the
return to the pool with its rollback, a greenlet hop for each and a task to shield the
close) made a handshake read cost 131-158 µs of CPU on SQLite where on a kept
connection it costs 13-16 µs, and 268-311 µs against 138-175 µs on PostgreSQL
(`bench/read_checkout_cpu.py`); a handshake made two or three. On SQLite every statement runs inline
(`hubbub.store.sqlite_driver`): its rows are all fetched before the call returns, with
no turn of the loop in between, so every coroutine's reads can share one connection,
opened on first use and closed by `Database.dispose`. asyncpg cannot run two statements
at once on one connection, so PostgreSQL's reads each take a connection of their own:
the one given back last, kept out of the pool while it is in use (up to `KEEP` idle),
pinged first if it has been idle long enough that the pool would ping it
(`hubbub.store.liveness`), and checked out of the pool as before when none is kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hubbub.store.liveness import RECENT_S
from hubbub.store.prepared import RawBatch, _AsyncpgBatch, _SqliteBatch

# Connections kept idle for PostgreSQL's reads, at most; more readers at once check
# out more, given back to the pool after.
KEEP = 4


@dataclass(frozen=True)
class _Kept:
    connection: AsyncConnection
    sync_connection: Connection
    driver: Any  # the driver's connection: sqlite3's (inline) or asyncpg's


class DriverReads:
    """`async with reads() as batch`: prepared statements on a read connection."""

    def __init__(self, engine: AsyncEngine, *, shared: bool, keep: int = KEEP) -> None:
        self._engine = engine
        self._observed = engine.sync_engine
        self._sqlite = engine.dialect.name == "sqlite"
        # Whether one connection serves every reader at once (`Capabilities.reads_inline`).
        self._shared = shared
        self._keep = keep
        self._kept: _Kept | None = None  # shared
        # Not shared: connections given back, with when (`time.monotonic()`), the latest last.
        self._idle: list[tuple[_Kept, float]] = []
        self._opening = asyncio.Lock()
        self._closed = False

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[RawBatch]:
        if self._shared:
            yield self._batch(self._kept or await self._open_shared())
            return
        kept = await self._take()
        try:
            yield self._batch(kept)
        except (DBAPIError, OSError, asyncio.CancelledError):
            await self._drop(kept)  # broken, or cut off mid-statement
            raise
        except BaseException:
            await self._give_back(kept)
            raise
        await self._give_back(kept)

    def _batch(self, kept: _Kept) -> RawBatch:
        if self._sqlite:
            return _SqliteBatch(kept.sync_connection, self._observed, kept.driver, [])
        return _AsyncpgBatch(kept.sync_connection, self._observed, kept.driver, [])

    async def _take(self) -> _Kept:
        """The connection given back last: as it is if that was within `RECENT_S` (it
        worked then, the pool's own rule in `hubbub.store.liveness`), after a ping if
        not; one that does not answer is dropped and the next tried; with none left,
        one checked out of the pool."""
        while self._idle:
            kept, since = self._idle.pop()
            if self._sqlite or time.monotonic() - since < RECENT_S:
                return kept
            try:
                await kept.driver.execute("SELECT 1")  # asyncpg's: one round trip
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._drop(kept)
                continue
            except BaseException:  # cancelled mid-ping: in no state to keep
                await self._drop(kept)
                raise
            return kept
        return await self._connect()

    async def _drop(self, kept: _Kept) -> None:
        """Not to be used again. The pool never saw why (the statement ran on the
        driver), so it is told."""
        await kept.connection.invalidate()
        await kept.connection.close()

    async def _give_back(self, kept: _Kept) -> None:
        if not self._closed and len(self._idle) < self._keep:
            self._idle.append((kept, time.monotonic()))
        else:
            await kept.connection.close()

    async def _connect(self) -> _Kept:
        connection = await self._engine.connect()
        try:
            sync_connection = connection.sync_connection
            driver = (await connection.get_raw_connection()).driver_connection
        except BaseException:
            await connection.close()
            raise
        assert sync_connection is not None
        assert driver is not None
        if self._sqlite:
            driver = driver.sqlite_connection
        return _Kept(connection, sync_connection, driver)

    async def _open_shared(self) -> _Kept:
        async with self._opening:
            if self._kept is None:
                self._kept = await self._connect()
            return self._kept

    async def close(self) -> None:
        """Give every kept connection back (before the engine is disposed); one in use
        goes back when its reader is done."""
        self._closed = True
        kept = [k for k, _ in self._idle]
        if self._kept is not None:
            kept.append(self._kept)
        self._kept = None
        self._idle.clear()
        for each in kept:
            await each.connection.close()

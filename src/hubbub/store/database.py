"""Engines and sessions: how services reach storage.

Services open `db.read()` for queries and `db.write()` for a transaction that changes
state; a write session commits when its block ends without error. On PostgreSQL both
come from one engine. On SQLite writes go through a single connection that starts with
BEGIN IMMEDIATE (one writer at a time, in process order), reads through a small pool,
all of them calling sqlite3 inline (`hubbub.store.sqlite_driver`); `start()` runs that
driver's WAL checkpoints in the background, and the search indexer that moves new
messages into the full-text index in bulk (`hubbub.store.dialect`, full-text search).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hubbub.events.sink import EventSink
from hubbub.store.dialect import (
    async_url,
    configure_sqlite,
    index_pending_messages,
    messages_pending_index,
)
from hubbub.store.engines import LONGEST_STATEMENT, Capabilities, capabilities_of
from hubbub.store.liveness import ping_unless_recent
from hubbub.store.prepared import RawWriters
from hubbub.store.read_connections import DriverReads
from hubbub.store.sqlite_driver import Checkpointer, inline_connector
from hubbub.store.unit import publish_committed, take_emitted

log = logging.getLogger("hubbub.store")

# Compiled statements kept per engine. The group commit's lookups have one shape per batch
# size (an OR of up to 256 pairs), on top of every other statement the services send.
QUERY_CACHE_SIZE = 2000

# Search indexing on SQLite: rows per transaction (a few ms of the loop at most), and
# how often the background indexer looks for noted messages.
INDEX_CHUNK = 256
INDEX_EVERY_S = 0.5
INDEX_BUSY_S = 0.01


@dataclass
class Database:
    url: str
    read_engine: AsyncEngine
    write_engine: AsyncEngine
    _read_sessions: async_sessionmaker[AsyncSession]
    _write_sessions: async_sessionmaker[AsyncSession]
    raw_writers: RawWriters
    batch_engine: AsyncEngine
    # `async with db.driver_reads() as reads`: prepared statements on a read connection.
    driver_reads: DriverReads
    # Group commits that may be in flight at once, each on its own held connection.
    batch_writers: int = 1
    # SQLite: held by every writer (`write()` and the group commit's `raw_writers`).
    writer_lock: asyncio.Lock | None = None
    checkpointer: Checkpointer | None = None
    # Where committed events go (the bus); None for a database opened only to be
    # checked or migrated, which publishes nothing.
    events: EventSink | None = None
    _indexer: asyncio.Task[None] | None = field(default=None, init=False)

    @property
    def capabilities(self) -> Capabilities:
        return capabilities_of(self.url)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction; committed at the end of the block, rolled back on error.
        Events registered on it (`hubbub.store.unit.emit`) are published after the
        commit, once the writer lock is released."""
        if self.writer_lock is None:
            async with self._write_sessions() as session, session.begin():
                yield session
        else:
            async with self.writer_lock, self._write_sessions() as session, session.begin():
                yield session
        await publish_committed(self.events, take_emitted(session))

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def start(self) -> None:
        """Background upkeep (SQLite: WAL checkpoints, search indexing); call on the
        serving loop."""
        if self.checkpointer is not None:
            self.checkpointer.start()
        if self.capabilities.search_index_deferred and self._indexer is None:
            self._indexer = asyncio.create_task(self._index_forever(), name="hubbub-indexer")

    async def catch_up_search_index(self) -> None:
        """Make every message committed so far findable by search (SQLite: index the
        noted ones now; PostgreSQL's index is always current)."""
        if not self.capabilities.search_index_deferred:
            return
        async with self.read() as session:
            if not await messages_pending_index(session):
                return
        while await self._index_chunk() == INDEX_CHUNK:
            pass

    async def _index_chunk(self) -> int:
        async with self.write() as session:
            return await index_pending_messages(session, INDEX_CHUNK)

    async def _index_forever(self) -> None:
        delay = INDEX_EVERY_S
        while True:
            await asyncio.sleep(delay)
            try:
                full = await self._index_chunk() == INDEX_CHUNK
            except Exception as exc:  # the next round tries again; search catches up itself
                log.warning("search indexing failed: %r", exc)
                full = False
            # A chunk at a time, with sends in between, until the backlog is gone.
            delay = INDEX_BUSY_S if full else INDEX_EVERY_S

    async def dispose(self) -> None:
        if self._indexer is not None:
            self._indexer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._indexer
            self._indexer = None
        await self.raw_writers.close()
        await self.driver_reads.close()
        await self.batch_engine.dispose()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()


def open_database(
    url: str,
    *,
    pool_size: int = 10,
    sqlite_synchronous: str = "NORMAL",
    events: EventSink | None = None,
) -> Database:
    """Build engines for `url` (no connection is made until first use), as its
    `Capabilities` say: one writer behind one lock, or a pool and `batch_writers`
    group commits in flight (`hubbub.store.prepared.RawWriters`). On PostgreSQL the pool
    holds up to twice `pool_size` connections at once and keeps every one it opens.

    Every engine reads JSON with orjson, not the standard library's parser, which
    SQLAlchemy calls for each JSON value: a history page's metadata and mentions cost
    1.8 % of its CPU on PostgreSQL, ~4 % on SQLite. Both hold only standard JSON (no
    NaN), and what clients store was checked to round-trip through orjson
    (`hubbub.wire.fields.json_metadata`)."""
    driver_url = async_url(url)
    capabilities = capabilities_of(url)
    batch_writers = capabilities.batch_writers
    checkpointer: Checkpointer | None = None
    writer_lock: asyncio.Lock | None = None
    if capabilities.single_writer:
        path = make_url(driver_url).database or ""
        connect = inline_connector(path)
        write_engine = create_async_engine(
            driver_url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            async_creator=connect,
            query_cache_size=QUERY_CACHE_SIZE,
            json_deserializer=orjson.loads,
        )
        read_engine = create_async_engine(
            driver_url,
            # Four for sessions, and one kept for the reads on the driver.
            pool_size=5,
            max_overflow=0,
            pool_timeout=60,
            # The connection used last is the one whose page cache is warm.
            pool_use_lifo=True,
            async_creator=connect,
            query_cache_size=QUERY_CACHE_SIZE,
            json_deserializer=orjson.loads,
        )
        batch_engine = create_async_engine(
            driver_url,
            pool_size=1,
            max_overflow=0,
            async_creator=connect,
            json_deserializer=orjson.loads,
        )
        configure_sqlite(write_engine, write=True, synchronous=sqlite_synchronous)
        configure_sqlite(read_engine, write=False, synchronous=sqlite_synchronous)
        configure_sqlite(batch_engine, write=True, synchronous=sqlite_synchronous)
        checkpointer = Checkpointer(path)
        writer_lock = asyncio.Lock()
    else:
        # Every statement compiled for the driver stays prepared on its connection.
        kept_prepared = {"max_cacheable_statement_size": LONGEST_STATEMENT}
        # Every connection opened stays open, up to the most at once (the pool's size
        # and its overflow, as before): one closed after a burst of readers was opened
        # again for the next, and each new one cost PostgreSQL a backend, asyncpg's type
        # introspection and the first plans of its statements (a storm of 2,000 opened
        # 31; now the first storm opens the pool's 20 and the next none, "Seventeenth
        # round"). The one checked in last goes out first: its plans are warm.
        write_engine = create_async_engine(
            driver_url,
            pool_size=2 * pool_size,
            max_overflow=0,
            pool_use_lifo=True,
            connect_args=kept_prepared,
            query_cache_size=QUERY_CACHE_SIZE,
            json_deserializer=orjson.loads,
        )
        ping_unless_recent(write_engine)
        read_engine = write_engine
        batch_engine = create_async_engine(
            driver_url,
            pool_size=batch_writers,
            max_overflow=0,
            pool_pre_ping=True,
            connect_args=kept_prepared,
            json_deserializer=orjson.loads,
        )
    return Database(
        url=url,
        read_engine=read_engine,
        write_engine=write_engine,
        _read_sessions=async_sessionmaker(read_engine, expire_on_commit=False),
        _write_sessions=async_sessionmaker(write_engine, expire_on_commit=False),
        raw_writers=RawWriters(batch_engine, write_engine, writer_lock=writer_lock, events=events),
        batch_engine=batch_engine,
        driver_reads=DriverReads(read_engine, shared=capabilities.reads_inline),
        batch_writers=batch_writers,
        writer_lock=writer_lock,
        events=events,
        checkpointer=checkpointer,
    )

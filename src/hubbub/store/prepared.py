"""Statements of the hottest path, compiled once and run on the driver's own connection.

Store functions (`hubbub.store.send_batch_txn`, `hubbub.store.access`) -> here -> the
database driver. Used by the group commit of sends (`hubbub.actions.send_batch`).
Through SQLAlchemy's async API a statement costs ~150-300 µs of Python on this kind of
machine before the database sees it (a greenlet hop per call and several per driver
call, the ORM session, the execution context, the result object): a batch of five
statements cost more than a millisecond, which under light load (small batches) was most
of a send's CPU. Here a statement is still built with SQLAlchemy Core and compiled by
SQLAlchemy for the engine's dialect, once; its parameters go through the bound types'
own bind processors and its result columns through their result processors, so the
driver sees, and the caller gets, what SQLAlchemy would send and return. What is skipped
is the per-execution machinery.

`RawWriters.batch()` runs a group commit's statements on a connection held for it, as a
`RawBatch`: sqlite3 directly on SQLite (the embedded default's inline driver), in one
`BEGIN IMMEDIATE` transaction taken in turn with every other writer (`isolated`);
asyncpg on PostgreSQL, each statement committed on its own (not `isolated`: no
BEGIN/COMMIT round trips). Callers check `RawBatch.isolated`. A few of the same
statements also run in an ordinary session's transaction (the one-send path) through
`SessionStatements`; both are `Statements`. Driver errors come out as SQLAlchemy's
exceptions (IntegrityError, OperationalError, DBAPIError), as from any other query.
Listeners of the engine's `before_cursor_execute` and `after_cursor_execute` events see
these statements too (the tests count and EXPLAIN them; statement timing and traces
record them).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import CompoundSelect, Connection, Engine, Insert, Select, TextClause, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hubbub.events.catalog import ServerEvent
from hubbub.events.sink import EventSink
from hubbub.store.driver_errors import as_sqlalchemy_error
from hubbub.store.engines import LONGEST_STATEMENT
from hubbub.store.unit import publish_committed

log = logging.getLogger("hubbub.store")

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bound parameter names, in positional order
    binds: tuple[Processor, ...]
    # Values the statement carries itself (`status == ACTIVE` binds ACTIVE).
    fixed: Mapping[str, Any]
    # The result columns that have a processor, with it (none: rows as the driver gives
    # them). Most columns have none, and walking them all with a check cost a history
    # page 3.6 % of its CPU, as much as the processors themselves.
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = values[name] if name in values else self.fixed[name]
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        out = list(raw)
        for index, process in self.processed:
            value = out[index]
            if value is not None:
                out[index] = process(value)
        return tuple(out)


class Prepared:
    """A Core statement (SELECT, INSERT, UPDATE, or text with typed parameters),
    compiled once per dialect.

    An INSERT names its columns (`columns`): the rows given must hold every one, as no
    column default runs here."""

    def __init__(
        self,
        statement: Select[Any] | CompoundSelect[Any] | Insert | Update | TextClause,
        *,
        columns: Sequence[str] = (),
    ) -> None:
        self.statement = statement
        self._columns = list(columns)
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        kw: dict[str, Any] = {"column_keys": self._columns} if self._columns else {}
        compiled = self.statement.compile(dialect=dialect, **kw)
        if not compiled.positional or compiled.positiontup is None:
            raise TypeError(f"{dialect.name}: expected a positional parameter style")
        if len(compiled.string) > LONGEST_STATEMENT:
            raise ValueError(
                f"a statement of {len(compiled.string)} characters would not stay prepared"
                f" (at most {LONGEST_STATEMENT}): {compiled.string[:80]}"
            )
        names = tuple(compiled.positiontup)
        binds = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        processed: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        if isinstance(self.statement, (Select, CompoundSelect)):
            results = (
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
            processed = tuple(
                (index, process) for index, process in enumerate(results) if process is not None
            )
        fixed = {
            name: compiled.binds[name].effective_value
            for name in names
            if compiled.binds[name].value is not None
        }
        return _Compiled(compiled.string, names, binds, fixed, processed)


class Statements(Protocol):
    """Where a store function runs prepared statements: a group commit's `RawBatch`, or
    the transaction of an ordinary write session (`SessionStatements`)."""

    async def rows(
        self, statement: Prepared, values: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]: ...


class SessionStatements:
    """Prepared statements run through a session, in its transaction (the one-send path
    shares the group commit's lookups this way; it is not the hot path, so SQLAlchemy's
    per-execution machinery is fine there)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def rows(self, statement: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        result = await self._session.execute(statement.statement, dict(values))
        return [tuple(row) for row in result.all()]


class RawBatch:
    """A group commit's statements on a driver connection; `rows` and `run_many` execute.

    `isolated`: whether the block is one transaction. True on SQLite (`BEGIN IMMEDIATE`,
    so what it reads holds until its writes commit, and a failure rolls every statement
    back). False on PostgreSQL: each statement commits on its own, and a caller that needs
    reads and writes to agree makes the write one statement that re-checks what it relies
    on. Every round trip to PostgreSQL costs a turn of a busy event loop, so the group
    commit makes three instead of six (no BEGIN, no COMMIT).
    """

    isolated: bool

    def __init__(
        self, sync_connection: Connection, observed: Engine, emitted: list[ServerEvent]
    ) -> None:
        self._sync = sync_connection
        # Whose `before_cursor_execute` listeners hear of these statements: the write
        # engine's, as for every other write.
        self._engine = observed
        self.dialect = sync_connection.dialect
        self._emitted = emitted

    def emit(self, *events: ServerEvent) -> None:
        """Publish `events` once the block has ended without error (`hubbub.store.unit`)."""
        self._emitted.extend(events)

    async def rows(self, statement: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        compiled = statement.compiled(self.dialect)
        parameters = compiled.parameters(values)
        context = self._before(compiled.sql, parameters, many=False)
        raw = await self._fetch(compiled.sql, parameters)
        self._after(context, compiled.sql, parameters, many=False)
        if not compiled.processed:
            return [tuple(r) for r in raw]
        return [compiled.row(r) for r in raw]

    async def run_many(self, statement: Prepared, values: Sequence[Mapping[str, Any]]) -> None:
        if not values:
            return
        compiled = statement.compiled(self.dialect)
        parameters = [compiled.parameters(v) for v in values]
        context = self._before(compiled.sql, parameters, many=True)
        await self._execute_many(compiled.sql, parameters)
        self._after(context, compiled.sql, parameters, many=True)

    def _before(self, sql: str, parameters: Any, *, many: bool) -> SimpleNamespace:
        # The listeners (statement timing, traces) get a context of their own to keep
        # their state on, as SQLAlchemy's execution context is for its own statements;
        # a statement that fails never reaches `_after` (nor, in SQLAlchemy, the
        # after-event): its trace span ends unrecorded and its time is not counted.
        context = SimpleNamespace()
        dispatch = self._engine.dispatch.before_cursor_execute
        if dispatch:
            dispatch(self._sync, None, sql, parameters, context, many)
        return context

    def _after(self, context: SimpleNamespace, sql: str, parameters: Any, *, many: bool) -> None:
        dispatch = self._engine.dispatch.after_cursor_execute
        if dispatch:
            dispatch(self._sync, None, sql, parameters, context, many)

    async def _fetch(self, sql: str, parameters: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    async def _execute_many(self, sql: str, parameters: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class _SqliteBatch(RawBatch):
    isolated = True

    def __init__(
        self,
        sync_connection: Connection,
        observed: Engine,
        driver: sqlite3.Connection,
        emitted: list[ServerEvent],
    ) -> None:
        super().__init__(sync_connection, observed, emitted)
        self._driver = driver

    async def _fetch(self, sql: str, parameters: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        try:
            return self._driver.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise as_sqlalchemy_error(sql, parameters, exc) from exc

    async def _execute_many(self, sql: str, parameters: list[tuple[Any, ...]]) -> None:
        try:
            self._driver.executemany(sql, parameters)
        except sqlite3.Error as exc:
            raise as_sqlalchemy_error(sql, parameters, exc) from exc


class _AsyncpgBatch(RawBatch):
    isolated = False

    def __init__(
        self,
        sync_connection: Connection,
        observed: Engine,
        driver: Any,
        emitted: list[ServerEvent],
    ) -> None:
        super().__init__(sync_connection, observed, emitted)
        self._driver = driver

    async def _fetch(self, sql: str, parameters: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        try:
            rows: Sequence[Sequence[Any]] = await self._driver.fetch(sql, *parameters)
        except Exception as exc:
            raise as_sqlalchemy_error(sql, parameters, exc) from exc
        return rows

    async def _execute_many(self, sql: str, parameters: list[tuple[Any, ...]]) -> None:
        try:
            await self._driver.executemany(sql, parameters)
        except Exception as exc:
            raise as_sqlalchemy_error(sql, parameters, exc) from exc


@dataclass
class _Held:
    conn: AsyncConnection
    driver: Any


class RawWriters:
    """Connections held for the group commit, one per batch in flight, each checked out
    of an engine of their own once and kept: checking a connection in and out of
    SQLAlchemy's pool cost ~400 µs of Python per batch, most of a lone send's storing.

    On SQLite a batch's transaction holds `writer_lock`, which `Database.write()` holds
    too, so the database sees one writer at a time, in the order they asked (waiting
    for SQLite's own lock would block the event loop: `hubbub.store.sqlite_driver`). On
    PostgreSQL a connection that failed is dropped and replaced by the next batch.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        observed: AsyncEngine,
        *,
        writer_lock: asyncio.Lock | None,
        events: EventSink | None = None,
    ) -> None:
        self._engine = engine
        self._events = events
        self._observed = observed.sync_engine
        self._writer_lock = writer_lock
        self._free: list[_Held] = []
        self._all: list[_Held] = []

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[RawBatch]:
        """A group commit's statements on a held connection. SQLite: one write
        transaction (`RawBatch.isolated`), committed when the block ends, rolled back when
        it raises. PostgreSQL: each statement in autocommit (not `isolated`): a block that
        raises leaves what its earlier statements wrote. Events emitted on it are
        published once the block has ended without error."""
        emitted: list[ServerEvent] = []
        async with self._held_batch(emitted) as batch:
            yield batch
        await publish_committed(self._events, emitted)

    @asynccontextmanager
    async def _held_batch(self, emitted: list[ServerEvent]) -> AsyncIterator[RawBatch]:
        held = self._free.pop() if self._free else await self._connect()
        sync_connection = held.conn.sync_connection
        assert sync_connection is not None
        keep = False
        try:
            if self._writer_lock is None:
                try:
                    yield _AsyncpgBatch(sync_connection, self._observed, held.driver, emitted)
                except IntegrityError:
                    keep = True  # a refused statement leaves the connection as it was
                    raise
                keep = True
                return
            sqlite: sqlite3.Connection = held.driver.sqlite_connection
            keep = True  # a sqlite3 connection outlives any error here
            async with self._writer_lock:
                try:
                    sqlite.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise as_sqlalchemy_error("BEGIN IMMEDIATE", (), exc) from exc
                try:
                    yield _SqliteBatch(sync_connection, self._observed, sqlite, emitted)
                except BaseException:
                    sqlite.rollback()
                    raise
                try:
                    sqlite.commit()
                except sqlite3.Error as exc:
                    sqlite.rollback()
                    raise as_sqlalchemy_error("COMMIT", (), exc) from exc
        finally:
            if keep:
                self._free.append(held)
            else:
                await self._drop(held)

    async def _connect(self) -> _Held:
        conn = await self._engine.connect()
        try:
            driver = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.close()
            raise
        held = _Held(conn, driver)
        self._all.append(held)
        return held

    async def _drop(self, held: _Held) -> None:
        self._all.remove(held)
        try:
            await held.conn.invalidate()
            await held.conn.close()
        except Exception:  # it is broken already; the pool forgets it
            log.debug("dropping a group commit connection failed", exc_info=True)

    async def close(self) -> None:
        held, self._all, self._free = self._all, [], []
        for h in held:
            try:
                await h.conn.close()
            except Exception:
                log.debug("closing a group commit connection failed", exc_info=True)

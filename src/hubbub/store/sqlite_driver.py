"""The embedded default's SQLite driver: sqlite3 calls made inline, on the event loop.

SQLAlchemy's async SQLite dialect talks to aiosqlite, which runs every call (cursor,
execute, fetch, close, commit) on a worker thread and hops back to the loop: about
60 µs per hop on a 2-core machine, a dozen hops per transaction, so a one-row read cost
~1 ms and a send several. The statements themselves take microseconds: the database is
a local file, WAL lets readers run beside the writer without waiting, and this process
is its only writer (one write connection, `hubbub.store.database`). So this module gives
the dialect, through `create_async_engine(async_creator=...)`, connections that look
like aiosqlite's but call sqlite3 directly: each awaited call completes without
suspending.

What could block the loop, and how it is kept short:
- a lock held by another process (an admin command writing while the server runs):
  `busy_timeout` is short (`BUSY_TIMEOUT_MS`); a send that hits it fails as
  `unavailable` and its client retries with the same optimisticId;
- the WAL checkpoint, which writes pages back and syncs the file: automatic
  checkpoints are off on these connections, and `Checkpointer` runs them on a thread of
  its own with a connection of its own (PASSIVE: it never waits for readers or the
  writer).

The shape mimicked is the part of aiosqlite that SQLAlchemy's adapter uses
(`sqlalchemy.dialects.sqlite.aiosqlite`); the whole test suite runs on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger("hubbub.store")

BUSY_TIMEOUT_MS = 1000
CHECKPOINT_EVERY_S = 1.0


class InlineCursor:
    """An aiosqlite-shaped cursor over a sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's request queue: SQLAlchemy's isolation-level setter
    queues a (future, function) pair on it; here the function runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    """An aiosqlite-shaped connection over a sqlite3 connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        # SQLAlchemy's adapter reads `_connection` (None once closed) and `_tx`.
        self._connection: sqlite3.Connection | None = conn
        self._tx = _RunNow()

    @property
    def sqlite_connection(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (`hubbub.store.prepared` runs statements on it)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def inline_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """`async_creator` for `create_async_engine`: a new inline connection to `path`."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Checkpoints run on the Checkpointer's thread, never inside a commit here.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return InlineConnection(conn)

    return connect


class Checkpointer:
    """Copies the WAL back into the database file every `every_s`, off the loop."""

    def __init__(self, path: str, *, every_s: float = CHECKPOINT_EVERY_S) -> None:
        self._path = path
        self._every_s = every_s
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        # Cancelling `_run` does not stop a checkpoint already running on its thread:
        # the connection is used and closed under this lock only, and a checkpoint asked
        # for before a stop (an older generation) does nothing. Closing the connection
        # under a running checkpoint crashed the process (a segfault in a test run on a
        # loaded machine).
        self._lock = threading.Lock()
        self._generation = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hubbub-sqlite-checkpoint")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # A last, complete checkpoint on the way out leaves a small WAL behind.
        with contextlib.suppress(sqlite3.Error):
            await asyncio.to_thread(self._checkpoint, "TRUNCATE", self._generation)
        await asyncio.to_thread(self._close)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await asyncio.to_thread(self._checkpoint, "PASSIVE", self._generation)
            except sqlite3.Error as exc:  # the next round tries again
                log.warning("SQLite checkpoint failed: %s", exc)

    def _checkpoint(self, mode: str, generation: int) -> Sequence[Any]:
        with self._lock:
            if generation != self._generation:  # stopped since it was asked for
                return ()
            if self._conn is None:
                self._conn = sqlite3.connect(self._path, check_same_thread=False)
                self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            row: Sequence[Any] = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            return row

    def _close(self) -> None:
        with self._lock:
            self._generation += 1
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

"""Whether a pooled PostgreSQL connection still works, asked only when it may not.

`hubbub.store.database.open_database` -> here, on the PostgreSQL pool of ordinary reads
and writes. SQLAlchemy's `pool_pre_ping` asks at every checkout, and on asyncpg its ping
is three round trips (BEGIN, an empty statement, ROLLBACK, for poolers in transaction
mode). An HTTP request checks out a connection once or twice (the token's session, then
its own reads), so a history page made six round trips before its first statement;
without them it costs 11 % less CPU (`bench/page_cpu.py --backend postgresql`: 6.24 ->
5.58 ms, medians of four runs each). A connection checked in less than `RECENT_S` ago
was working then; asking again is what connection pools such as HikariCP skip by
default (its `aliveBypassWindowMs`, 500 ms). One idle longer, or new, is pinged as
before, and one that fails the ping is replaced before the caller sees it (SQLAlchemy
retries a checkout that raises `DisconnectionError`). What the window leaves: a
connection cut by the database within `RECENT_S` of its last use fails its next
statement; SQLAlchemy then discards every connection opened before it, and the next
request gets a new one.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

RECENT_S = 0.5
_CHECKED_IN_AT = "hubbub_checked_in_at"


def ping_unless_recent(engine: AsyncEngine, *, recent_s: float = RECENT_S) -> None:
    """Ping a connection at checkout when it was last checked in over `recent_s` ago
    (for an engine made without `pool_pre_ping`)."""
    pool = engine.sync_engine.pool

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        last = record.info.get(_CHECKED_IN_AT)
        if last is not None and time.monotonic() - last < recent_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checkout)

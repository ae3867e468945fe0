"""Database time per statement kind, from the engines' cursor events.

The timer starts in `before_cursor_execute` and is read in `after_cursor_execute`; the
statement's kind (its first keyword) is looked up once per statement text. Statements
the group commit runs on the driver's own connection (`hubbub.store.prepared`) are
timed too: it raises the same two events around each of them.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from hubbub.metrics import Metrics

_STARTED = "hubbub_started"


def time_statements(engines: list[AsyncEngine], metrics: Metrics) -> None:
    """Record every statement of `engines` in `hubbub_db_statement_seconds`."""

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info[_STARTED] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info.pop(_STARTED, None)
        if started is not None:
            metrics.db_kind(statement).observe(time.perf_counter() - started)

    for engine in {id(e): e for e in engines}.values():
        event.listen(engine.sync_engine, "before_cursor_execute", before)
        event.listen(engine.sync_engine, "after_cursor_execute", after)

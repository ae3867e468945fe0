"""A driver's errors as SQLAlchemy's, for the statements run on the driver itself.

`hubbub.store.prepared` (its batches and reads on sqlite3 and asyncpg) -> here. Callers
of the store handle one family of errors whichever way a statement ran: through a
session, or compiled once and handed to the driver.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError


def as_sqlalchemy_error(sql: str, parameters: Any, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's, so callers handle one family (a unique or
    foreign-key violation is an IntegrityError; anything else the database or the
    connection did wrong is an OperationalError)."""
    if isinstance(exc, sqlite3.IntegrityError) or _is_asyncpg_integrity(exc):
        return IntegrityError(sql, parameters, exc)
    if isinstance(exc, (sqlite3.Error, OSError, ConnectionError, TimeoutError)) or (
        type(exc).__module__.startswith("asyncpg")
    ):
        return OperationalError(sql, parameters, exc)
    return exc


def _is_asyncpg_integrity(exc: Exception) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("23")  # integrity violations

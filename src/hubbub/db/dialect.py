"""The few places where SQLite and PostgreSQL differ, kept in one module.

Everything else talks plain SQLAlchemy. Here live: URL normalisation to the async
drivers, column types that need a per-dialect form (UTC timestamps, JSON/JSONB,
UUID[] mentions), connection set-up (SQLite pragmas and write transactions), the
full-text search DDL and queries, and "lock this row for update".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    DateTime,
    Select,
    Uuid,
    and_,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator, TypeEngine

from hubbub.db.sqlite_driver import BUSY_TIMEOUT_MS


def async_url(url: str) -> str:
    """Map a user-facing URL (`sqlite:///…`, `postgresql://…`) to its async driver."""
    scheme, rest = url.split(":", 1)
    base = scheme.split("+", 1)[0]
    if base in ("postgresql", "postgres"):
        return "postgresql+asyncpg:" + rest
    if base == "sqlite":
        return "sqlite+aiosqlite:" + rest
    raise ValueError(f"unsupported database scheme {scheme!r}")


def is_sqlite_url(url: str) -> bool:
    return urlsplit(url).scheme.startswith("sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable with GIN), JSON text on SQLite.
JsonDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class UuidList(TypeDecorator[list[uuid.UUID]]):
    """A list of UUIDs: `UUID[]` on PostgreSQL, a JSON array of strings on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(PG_UUID(as_uuid=True)))
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: list[uuid.UUID] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return list(value)
        return [str(v) for v in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[uuid.UUID] | None:
        if value is None:
            return None
        return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in value]


def among_pairs(first: Any, second: Any) -> ColumnElement[bool]:
    """Rows whose `(first, second)` may be one of some pairs, bound at execution with
    `pair_values(pairs)`: `first IN (…) AND second IN (…)`, a superset the caller narrows
    to its pairs. Both databases serve it from a composite index on (first, second), and
    its expanding IN lists keep it one statement, built and compiled once, whatever the
    number of pairs (a row-value IN is a full scan on SQLite; an OR of pairs is a new
    statement to build and compile every time)."""
    condition: ColumnElement[bool] = and_(
        first.in_(bindparam("pair_firsts", expanding=True)),
        second.in_(bindparam("pair_seconds", expanding=True)),
    )
    return condition


def pair_values(pairs: Iterable[tuple[Any, Any]]) -> dict[str, list[Any]]:
    """The parameters of an `among_pairs` condition."""
    pairs = list(pairs)
    return {
        "pair_firsts": list(dict.fromkeys(a for a, _ in pairs)),
        "pair_seconds": list(dict.fromkeys(b for _, b in pairs)),
    }


def uuid_column_type() -> Uuid[uuid.UUID]:
    return Uuid(as_uuid=True)


def configure_sqlite(engine: AsyncEngine, *, write: bool, synchronous: str = "NORMAL") -> None:
    """Pragmas for every SQLite connection, and explicit transactions.

    pysqlite's own transaction handling is bypassed (the documented SQLAlchemy recipe)
    so that a writing session starts with BEGIN IMMEDIATE: it takes the write lock up
    front instead of failing with "database is locked" when a reader upgrades.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL (with WAL): a commit survives a crash of the process, which is what an
        # acknowledged message must survive; FULL adds an fsync per commit so that it
        # survives a power cut too, at a large cost in sends per second.
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# Full-text search --------------------------------------------------------------------
# PostgreSQL: a GIN index over to_tsvector('simple', content). SQLite: an FTS5 table
# kept in step by triggers. 'simple' (no stemming) on both, so both find the same words
# in any language. These objects are not in the ORM models; the migration creates them
# and the schema comparison test knows to skip them.

FTS_OBJECT_NAMES = frozenset({"ix_messages_content_fts", "messages_fts"})

POSTGRES_FTS_DDL = [
    "CREATE INDEX ix_messages_content_fts ON messages USING gin (to_tsvector('simple', content))",
]

SQLITE_FTS_DDL = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "content, content='messages', content_rowid='rowid', tokenize='unicode61')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END",
]

SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
]

POSTGRES_FTS_DROP = ["DROP INDEX IF EXISTS ix_messages_content_fts"]


def is_fts_object(name: str | None) -> bool:
    return name is not None and (name in FTS_OBJECT_NAMES or name.startswith("messages_fts"))


def fts_condition(dialect_name: str, query: str) -> ColumnElement[bool] | None:
    """Messages whose content matches every word of `query`; None when it has no words.

    The PostgreSQL expression repeats the index's exactly (`'simple'::regconfig`), so the
    GIN index serves it. On SQLite each word becomes a quoted FTS5 phrase, so the user's
    text is never read as FTS5 query syntax.
    """
    words = [w for w in query.split() if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    content: ColumnElement[str] = literal_column("messages.content")
    if dialect_name == "postgresql":
        config: ColumnElement[str] = literal_column("'simple'::regconfig")
        vector = func.to_tsvector(config, content)
        matches: ColumnElement[bool] = vector.op("@@", return_type=Boolean)(
            func.plainto_tsquery(config, " ".join(words))
        )
        return matches
    phrase = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    matching: Select[tuple[Any]] = (
        select(literal_column("rowid"))
        .select_from(text("messages_fts"))
        .where(text("messages_fts MATCH :fts_query").bindparams(fts_query=phrase))
    )
    return literal_column("messages.rowid").in_(matching)

"""The few places where SQLite and PostgreSQL differ, kept in one module.

Everything else talks plain SQLAlchemy. Here live: URL normalisation to the async
drivers, column types that need a per-dialect form (UTC timestamps, JSON/JSONB,
UUID[] mentions), connection set-up (SQLite pragmas and write transactions), the
full-text search DDL and queries, and "lock this row for update".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    DateTime,
    Select,
    Table,
    Text,
    Uuid,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine

from hubbub.store.sqlite_driver import BUSY_TIMEOUT_MS


def async_url(url: str) -> str:
    """Map a user-facing URL (`sqlite:///…`, `postgresql://…`) to its async driver."""
    scheme, rest = url.split(":", 1)
    base = scheme.split("+", 1)[0]
    if base in ("postgresql", "postgres"):
        return "postgresql+asyncpg:" + rest
    if base == "sqlite":
        return "sqlite+aiosqlite:" + rest
    raise ValueError(f"unsupported database scheme {scheme!r}")


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def _naive_utc(value: datetime) -> datetime:
    """As SQLite stores a time: in UTC, without a zone."""
    return _utc(value).replace(tzinfo=None)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return _naive_utc(value) if dialect.name == "sqlite" else _utc(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the time as SQLite's text in one C call per value: TypeDecorator's
        chain (`process_bind_param`, then the dialect's formatting through a `%` of seven
        fields) took 1.9 µs a value, and every new message binds four (5 % of a durable
        send's server CPU under `hubbub bench throughput`). The text is the dialect's own
        storage format; a test holds the two to the same output. The last time written
        is kept with its text: a group commit's messages bind the same `now` three times
        each, and `isoformat` alone takes 0.7 µs."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # One tuple, swapped whole, so that threads see a time with its own text.
        last: list[tuple[datetime | None, str | None]] = [(None, None)]

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen, written = last[0]
            if value is seen:
                return written
            text = _naive_utc(value).isoformat(" ", "microseconds")
            last[0] = (value, text)
            return text

        return to_text

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        """The dialect's own parsing, then the time as an aware UTC one, in one call per
        value (TypeDecorator's chain through `process_result_value` makes three; a
        history page reads ~150 of them)."""
        parse = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if parse is not None:
                value = parse(value)
            parsed: datetime = value
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)

        if dialect.name != "sqlite":
            return process

        def from_text(value: Any) -> datetime | None:
            # SQLite's text ("2026-01-02 03:04:05.678901", no zone: UTC) read as an
            # aware time in one C call: 5.5x faster than parsing it and `replace`-ing
            # the zone in, which made this 5 % of a history page's CPU. Anything else
            # (another stored form) takes the general way.
            try:
                return datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                return process(value)

        return from_text


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


class _PairList(TypeDecorator[list[tuple[Any, Any]]]):
    """Pairs bound as one JSON array of two-element arrays, in the form each database
    compares with the columns: UUIDs as 32 hex digits on SQLite (how `Uuid` stores
    them there), as canonical text on PostgreSQL (cast back to uuid in the query)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[tuple[Any, Any]] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            form = [[_sqlite_form(a), _sqlite_form(b)] for a, b in value]
        else:
            form = [[_text_form(a), _text_form(b)] for a, b in value]
        return orjson.dumps(form).decode()


def _sqlite_form(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else value


def _text_form(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


class _PairRows(ColumnElement[Any]):
    """The bound pairs as a subquery of two columns: see `among_pairs`."""

    __visit_name__ = "pair_rows"
    inherit_cache = True
    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [  # type: ignore[misc]
        ("first_type", InternalTraversal.dp_type),
        ("second_type", InternalTraversal.dp_type),
        ("pairs", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self, first_type: TypeEngine[Any], second_type: TypeEngine[Any], name: str
    ) -> None:
        self.first_type = first_type
        self.second_type = second_type
        self.pairs = bindparam(name, type_=_PairList())


@compiles(_PairRows, "sqlite")
def _pair_rows_sqlite(element: _PairRows, compiler: SQLCompiler, **kw: Any) -> str:
    pairs = compiler.process(element.pairs, **kw)
    # Only compiled SQL (a bound parameter, type names) goes into these texts.
    return f"(SELECT value ->> 0, value ->> 1 FROM json_each({pairs}))"  # noqa: S608


@compiles(_PairRows, "postgresql")
def _pair_rows_postgresql(element: _PairRows, compiler: SQLCompiler, **kw: Any) -> str:
    pairs = compiler.process(element.pairs, **kw)
    types = compiler.dialect.type_compiler_instance
    first_type = types.process(element.first_type)
    second_type = types.process(element.second_type)
    return (
        f"(SELECT CAST(pair ->> 0 AS {first_type}), CAST(pair ->> 1 AS {second_type}) "  # noqa: S608
        f"FROM jsonb_array_elements(CAST({pairs} AS JSONB)) AS pair)"
    )


def among_pairs(first: Any, second: Any, name: str = "pairs") -> ColumnElement[bool]:
    """Rows whose `(first, second)` is one of some pairs, bound at execution with
    `pair_values(pairs)` (a statement with two such conditions names them apart). The
    pairs travel as one JSON parameter that the database
    unpacks (`json_each`, `jsonb_array_elements`), so the statement is built and compiled
    once whatever the number of pairs, and each pair is one probe of a composite index
    on (first, second). (Two expanding IN lists would probe every first with every
    second: a batch of 200 sends from 200 senders made 40,000 probes. A plain row-value
    IN over a list is a full scan on SQLite; an OR of pairs is a new statement to
    compile every time.)"""
    rows = _PairRows(first.type, second.type, name)
    condition: ColumnElement[bool] = tuple_(first, second).op("IN", is_comparison=True)(rows)
    return condition


def pair_values(
    pairs: Iterable[tuple[Any, Any]], name: str = "pairs"
) -> dict[str, list[tuple[Any, Any]]]:
    """The parameter of an `among_pairs` condition (of that `name`)."""
    return {name: list(pairs)}


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
# PostgreSQL: a GIN index over to_tsvector('simple', content), kept by PostgreSQL itself
# (its pending list defers the work). SQLite: an FTS5 table over `messages`. 'simple'
# (no stemming) on both, so both find the same words in any language. These objects are
# not in the ORM models; the migrations create them and the schema comparison test knows
# to skip them.
#
# On SQLite a message is indexed after its send, not in it: adding one row to FTS5 in
# the send's transaction cost 70-200 µs (a segment written and merged per commit), the
# largest part of a small send batch; a few hundred rows in one transaction cost ~7 µs
# each. So inserting a message only notes its rowid in `messages_fts_pending`, and
# `index_pending_messages` moves noted rows into the index in bulk: in the background
# (`hubbub.store.database.SearchIndexer`) and before every search, so a search still finds
# every message committed before it. A message edited or deleted while still pending
# has nothing in the index to take out: the triggers check.

FTS_OBJECT_NAMES = frozenset({"ix_messages_content_fts", "messages_fts"})

POSTGRES_FTS_DDL = [
    "CREATE INDEX ix_messages_content_fts ON messages USING gin (to_tsvector('simple', content))",
]
POSTGRES_FTS_DROP = ["DROP INDEX IF EXISTS ix_messages_content_fts"]

# The oldest `:n` noted messages into the index, then off the list (one transaction).
_INDEX_PENDING = text(
    "INSERT INTO messages_fts(rowid, content) "
    "SELECT m.rowid, m.content FROM messages AS m JOIN "
    "(SELECT message_rowid FROM messages_fts_pending ORDER BY message_rowid LIMIT :n) AS p "
    "ON m.rowid = p.message_rowid"
)
_FORGET_INDEXED = text(
    "DELETE FROM messages_fts_pending WHERE message_rowid IN "
    "(SELECT message_rowid FROM messages_fts_pending ORDER BY message_rowid LIMIT :n)"
)
_ANY_PENDING = text("SELECT EXISTS (SELECT 1 FROM messages_fts_pending)")


async def index_pending_messages(session: AsyncSession, limit: int) -> int:
    """SQLite, in a write transaction: index up to `limit` noted messages; how many."""
    await session.execute(_INDEX_PENDING, {"n": limit})
    result = await session.execute(_FORGET_INDEXED, {"n": limit})
    return int(getattr(result, "rowcount", 0))


async def messages_pending_index(session: AsyncSession) -> bool:
    """SQLite: whether some messages are not in the full-text index yet."""
    return bool(await session.scalar(_ANY_PENDING))


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


class _Mentions(FunctionElement[bool]):
    """`mentions_user(mentions, user)`: compiled for each database below."""

    name = "mentions_user"
    inherit_cache = True
    type = Boolean()


@compiles(_Mentions, "postgresql")
def _mentions_postgresql(element: _Mentions, compiler: SQLCompiler, **kw: Any) -> str:
    mentions, user = (compiler.process(c, **kw) for c in element.clauses)
    return f"({user} = ANY({mentions}))"


@compiles(_Mentions, "sqlite")
def _mentions_sqlite(element: _Mentions, compiler: SQLCompiler, **kw: Any) -> str:
    # A uuid is 32 hex digits on SQLite, a mention the canonical text in a JSON array.
    mentions, u = (compiler.process(c, **kw) for c in element.clauses)
    parts = "||'-'||".join(
        f"substr({u}, {a}, {n})" for a, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"(instr({mentions}, lower({parts})) > 0)"


def mentions_user(mentions: Any, user: Any) -> ColumnElement[bool]:
    """A message's `mentions` include `user` (a uuid column), on either database."""
    return _Mentions(mentions, user)


def insert_ignoring_duplicates(table: Table, dialect_name: str) -> Insert:
    """An INSERT of whole rows that skips a row whose key is already there (ON CONFLICT
    DO NOTHING on both databases): what makes a copy run twice change nothing."""
    if dialect_name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()

"""Seed a large message history directly in the database, fast, in the server's schema.

Millions of messages through the API would take hours; `INSERT … SELECT` over
`generate_series` (PostgreSQL) or a recursive CTE (SQLite) writes about 100,000 rows a
second instead. The rows match hubbub's schema (`hubbub.store.models`, as migrated) or the
seed-node baseline's (`bench/baselines/seed-node/schema.sql`): conversations the bench
users take part in, each with `per_conversation` messages numbered 1..n.

Message ids are computed, not random, so the generator can name any message as a page
cursor without reading it back: message number g (0-based across the whole seed) has
a UUID of version 7's layout whose first 48 bits are a millisecond timestamp
(`BASE_MS + g`, so ids grow with time as hubbub's own do) and whose last 48 bits are g.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
CONTENT_TAIL = " lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod"
ROWS_PER_STATEMENT = 500_000


def message_uuid(g: int) -> str:
    """The id of seeded message number g (see the module doc)."""
    hex_id = f"{BASE_MS + g:012x}7{g % 4096:03x}8{(g // 4096) % 4096:03x}{g:012x}"
    return str(uuid.UUID(hex=hex_id))


PG_UUID_SQL = (
    "(lpad(to_hex({base}::bigint + {g}), 12, '0') || '7' || lpad(to_hex(({g}) % 4096), 3, '0')"
    " || '8' || lpad(to_hex((({g}) / 4096) % 4096), 3, '0') || lpad(to_hex({g}), 12, '0'))::uuid"
)
SQLITE_UUID_SQL = (
    "printf('%012x', {base} + {g}) || '7' || printf('%03x', ({g}) % 4096) || '8' || "
    "printf('%03x', (({g}) / 4096) % 4096) || printf('%012x', {g})"
)


@dataclass
class Seeded:
    conversation_ids: list[str]
    per_conversation: int


def _conversation_ids(count: int) -> list[str]:
    # Conversation ids are computed too (far above any message number), so reruns agree.
    return [message_uuid(10**13 + i) for i in range(count)]


async def seed_history(
    kind: str, database_url: str, user_ids: list[str], *, conversations: int, messages: int
) -> Seeded:
    per_conv = max(1, messages // conversations)
    conv_ids = _conversation_ids(conversations)
    if database_url.startswith("sqlite"):
        if kind not in ("hubbub", "target"):
            raise ValueError("only hubbub runs on SQLite")
        await asyncio.to_thread(
            _seed_hubbub_sqlite, _sqlite_path(database_url), user_ids, conv_ids, per_conv
        )
    elif kind == "seed-node":
        await _seed_postgres(database_url, user_ids, conv_ids, per_conv, seed_schema=True)
    else:
        await _seed_postgres(database_url, user_ids, conv_ids, per_conv, seed_schema=False)
    return Seeded(conv_ids, per_conv)


async def analyze(database_url: str) -> None:
    """Fresh planner statistics after a load made through the API, as PostgreSQL's
    autovacuum would gather within a minute (and SQLite's `ANALYZE` as the history seed
    runs): measured right after the load, a conversation list page on PostgreSQL took
    41 ms with the empty tables' statistics and 31 ms with fresh ones."""
    if database_url.startswith("sqlite"):
        await asyncio.to_thread(_analyze_sqlite, _sqlite_path(database_url))
        return
    conn = await _pg_connect(database_url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _sqlite_path(database_url: str) -> str:
    return database_url.split("///", 1)[1]


async def _pg_connect(database_url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(database_url.replace("postgresql://", "postgres://", 1))


def _analyze_sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, timeout=60)) as db:
        db.execute("ANALYZE")


async def _seed_postgres(
    url: str, user_ids: list[str], conv_ids: list[str], per_conv: int, *, seed_schema: bool
) -> None:
    # hubbub's own full-text index statements (dropped for the bulk insert, built again
    # after it), imported only here: the bench is a client of the server and loads none
    # of its modules otherwise.
    from hubbub.store.dialect import POSTGRES_FTS_DDL, POSTGRES_FTS_DROP

    conn = await _pg_connect(url)
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        users = [uuid.UUID(u) for u in user_ids]
        last_at = BASE_TIME + timedelta(milliseconds=len(conv_ids) * per_conv)
        owner = users[0]
        if seed_schema:
            # The seed's columns are TIMESTAMP without a zone: naive UTC.
            base_naive, last_naive = BASE_TIME.replace(tzinfo=None), last_at.replace(tzinfo=None)
            await conn.executemany(
                "INSERT INTO conversations (id, name, type, created_by, created_at, updated_at,"
                " last_message_at) VALUES ($1, $2, 'GROUP', $3, $4, $4, $5)",
                [
                    (uuid.UUID(c), f"history {i}", owner, base_naive, last_naive)
                    for i, c in enumerate(conv_ids)
                ],
            )
            await conn.executemany(
                "INSERT INTO conversation_participants (conversation_id, user_id, role, status)"
                " VALUES ($1, $2, $3, 'ACTIVE')",
                [
                    (uuid.UUID(c), u, "OWNER" if u == owner else "MEMBER")
                    for c in conv_ids
                    for u in users
                ],
            )
        else:
            await conn.executemany(
                "INSERT INTO conversations (id, type, name, created_by, created_at, updated_at,"
                " last_message_at, last_seq, message_count, metadata)"
                " VALUES ($1, 'GROUP', $2, $3, $4, $4, $5, $6, $6, '{}'::jsonb)",
                [
                    (uuid.UUID(c), f"history {i}", owner, BASE_TIME, last_at, per_conv)
                    for i, c in enumerate(conv_ids)
                ],
            )
            await conn.executemany(
                "INSERT INTO conversation_participants (id, conversation_id, user_id, role,"
                " status, joined_at, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, 'ACTIVE', $5, $5, $5)",
                [
                    (
                        uuid.UUID(message_uuid(2 * 10**13 + ci * len(users) + ui)),
                        uuid.UUID(c),
                        u,
                        "OWNER" if u == owner else "MEMBER",
                        BASE_TIME,
                    )
                    for ci, c in enumerate(conv_ids)
                    for ui, u in enumerate(users)
                ],
            )
            for statement in POSTGRES_FTS_DROP:
                await conn.execute(statement)
        g = f"(c.idx::bigint * {per_conv} + s.seq)"
        id_sql = PG_UUID_SQL.format(base=BASE_MS, g=g)
        ts = f"(timestamptz '2026-01-01 00:00:00+00' + {g} * interval '1 millisecond')"
        sender = f"(ARRAY[{','.join(repr(u) for u in user_ids)}]::uuid[])[1 + ({g} % {len(users)})]"
        content = f"'history message ' || {g} || '{CONTENT_TAIL}'"
        if seed_schema:
            columns = (
                "id, conversation_id, sender_id, type, content, status, attachments,"
                " metadata, mentions, server_timestamp, created_at, updated_at"
            )
            values = (
                f"{id_sql}, c.id, {sender}, 'TEXT', {content}, 'SENT', '[]'::jsonb,"
                f" '{{}}'::jsonb, '{{}}'::uuid[], {ts}, {ts}, {ts}"
            )
        else:
            columns = (
                "id, conversation_id, sender_id, type, content, status, seq, change_seq,"
                " reply_count, metadata, mentions, server_timestamp, created_at,"
                " updated_at"
            )
            values = (
                f"{id_sql}, c.id, {sender}, 'TEXT', {content}, 'SENT', s.seq, s.seq, 0,"
                f" '{{}}'::jsonb, '{{}}'::uuid[], {ts}, {ts}, {ts}"
            )
        step = max(1, ROWS_PER_STATEMENT // per_conv)
        for first in range(0, len(conv_ids), step):
            batch = conv_ids[first : first + step]
            await conn.execute(
                f"INSERT INTO messages ({columns}) SELECT {values}"  # noqa: S608
                " FROM unnest($1::uuid[], $2::int[]) AS c(id, idx),"
                " generate_series(1, $3::int) AS s(seq)",
                [uuid.UUID(c) for c in batch],
                list(range(first, first + len(batch))),
                per_conv,
            )
        if not seed_schema:
            for statement in POSTGRES_FTS_DDL:
                await conn.execute(statement)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _seed_hubbub_sqlite(path: str, user_ids: list[str], conv_ids: list[str], per_conv: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA busy_timeout=30000")
        users = [uuid.UUID(u).hex for u in user_ids]
        owner = users[0]
        base = _sqlite_time(BASE_TIME)
        last_at = _sqlite_time(BASE_TIME + timedelta(milliseconds=len(conv_ids) * per_conv))
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO conversations (id, type, name, created_by, created_at, updated_at,"
            " last_message_at, last_seq, message_count, metadata)"
            " VALUES (?, 'GROUP', ?, ?, ?, ?, ?, ?, ?, '{}')",
            [
                (uuid.UUID(c).hex, f"history {i}", owner, base, base, last_at, per_conv, per_conv)
                for i, c in enumerate(conv_ids)
            ],
        )
        db.executemany(
            "INSERT INTO conversation_participants (id, conversation_id, user_id, role, status,"
            " joined_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'ACTIVE', ?, ?, ?)",
            [
                (
                    uuid.UUID(message_uuid(2 * 10**13 + ci * len(users) + ui)).hex,
                    uuid.UUID(c).hex,
                    u,
                    "OWNER" if u == owner else "MEMBER",
                    base,
                    base,
                    base,
                )
                for ci, c in enumerate(conv_ids)
                for ui, u in enumerate(users)
            ],
        )
        # Full-text rows are built in one pass after the insert, not row by row.
        (trigger,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_ai'"
        ).fetchone()
        db.execute("DROP TRIGGER messages_fts_ai")
        db.execute("COMMIT")
        senders = "json_array(" + ",".join(f"'{u}'" for u in users) + ")"
        for ci, conv in enumerate(conv_ids):
            g = f"({ci * per_conv} + s.seq)"
            id_sql = SQLITE_UUID_SQL.format(base=BASE_MS, g=g)
            ts = (
                "strftime('%Y-%m-%d %H:%M:%f', '2026-01-01 00:00:00', "
                f"'+' || ({g} / 1000.0) || ' seconds') || '000'"
            )
            db.execute("BEGIN IMMEDIATE")
            # Only numbers and computed ids go into this statement, no outside text.
            db.execute(
                "WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s"  # noqa: S608
                f" WHERE seq < {per_conv})"
                " INSERT INTO messages (id, conversation_id, sender_id, type, content, status,"
                " seq, change_seq, reply_count, metadata, mentions, server_timestamp, created_at,"
                " updated_at)"
                f" SELECT {id_sql}, '{uuid.UUID(conv).hex}',"
                f" json_extract({senders}, '$[' || ({g} % {len(users)}) || ']'),"
                f" 'TEXT', 'history message ' || {g} || '{CONTENT_TAIL}', 'SENT', s.seq, s.seq,"
                f" 0, '{{}}', '[]', {ts}, {ts}, {ts} FROM s"
            )
            db.execute("COMMIT")
        # The rebuild indexes every row, noted or not.
        db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        db.execute("DELETE FROM messages_fts_pending")
        db.execute(trigger)
        db.execute("ANALYZE")
    finally:
        db.close()

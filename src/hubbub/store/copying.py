"""Whole tables, row by row: what the operator's copies (port-db, export, import) read
and write.

The operator's commands (`hubbub.ops`) -> here. Tables are taken in dependency order
(every foreign key of a row points at a table copied before it), read in pages by
primary key (keyset: a page starts after the last key of the one before, so the last
page of a large table costs what the first did), and written by inserts that skip a
row already there (`insert_ignoring_duplicates`): a copy cut short and run again ends
as one clean run would. Rows travel as plain JSON too (`to_json`, `from_json`), typed
back by their table's columns.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    Uuid,
    and_,
    func,
    literal,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageStatus
from hubbub.store.dialect import UTCDateTime, UuidList, insert_ignoring_duplicates
from hubbub.store.models import Base, Conversation, Message

Row = dict[str, Any]
# What a user made: the tables an export carries (sessions, tokens and the audit log
# stay with the server they belong to).
CONTENT_TABLES = (
    "users",
    "spaces",
    "space_members",
    "conversations",
    "conversation_participants",
    "messages",
    "message_reactions",
    "files",
    "message_files",
)


def tables_in_order(names: Collection[str] | None = None) -> list[Table]:
    """Every table of the schema (or those named), parents before children."""
    return [t for t in Base.metadata.sorted_tables if names is None or t.name in names]


async def repeatable_reads(session: AsyncSession) -> None:
    """Make the session's reads one snapshot: a copy taken while the server writes is
    consistent (no message of a user the copy has not got). SQLite's read transaction
    is one already."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def pages(
    session: AsyncSession, table: Table, size: int, where: ColumnElement[bool] | None = None
) -> AsyncIterator[list[Row]]:
    """The table's rows (those matching `where`) in primary-key order, `size` at a time."""
    key = list(table.primary_key.columns)
    last: list[Any] | None = None
    while True:
        query = select(table).order_by(*key).limit(size)
        if where is not None:
            query = query.where(where)
        if last is not None:
            after = [literal(v, c.type) for c, v in zip(key, last, strict=True)]
            query = query.where(
                tuple_(*key) > tuple_(*after) if len(key) > 1 else key[0] > after[0]
            )
        rows = [dict(r) for r in (await session.execute(query)).mappings()]
        if not rows:
            return
        yield rows
        last = [rows[-1][c.key] for c in key]


async def insert_rows(session: AsyncSession, table: Table, rows: list[Row]) -> None:
    """Add the rows whose key is not there yet; the others are left as they are."""
    if rows:
        await session.execute(
            insert_ignoring_duplicates(table, session.get_bind().dialect.name), rows
        )


async def count(
    session: AsyncSession, table: Table, where: ColumnElement[bool] | None = None
) -> int:
    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    return int(await session.scalar(query) or 0)


async def ids_of(session: AsyncSession, table: Table, ids: Collection[uuid.UUID]) -> set[Any]:
    """Which of `ids` the table holds (by its `id` column)."""
    found: set[Any] = set()
    listed = list(ids)
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        found |= set((await session.scalars(select(table.c.id).where(table.c.id.in_(chunk)))).all())
    return found


async def numbering(session: AsyncSession) -> dict[uuid.UUID, tuple[int, ...]]:
    """Per conversation: its counters (last number handed out, messages not deleted)
    beside what its messages hold (highest seq, highest change number, not deleted)."""
    m = Message.__table__.c
    held = {
        row[0]: tuple(int(v or 0) for v in row[1:])
        for row in await session.execute(
            select(
                m.conversation_id,
                func.max(m.seq),
                func.max(m.change_seq),
                func.count().filter(m.status != MessageStatus.DELETED),
            ).group_by(m.conversation_id)
        )
    }
    c = Conversation.__table__.c
    rows = await session.execute(select(c.id, c.last_seq, c.message_count))
    return {cid: (last, count_, *held.get(cid, (0, 0, 0))) for cid, last, count_ in rows}


def numbering_problems(numbers: Mapping[uuid.UUID, tuple[int, ...]]) -> list[str]:
    """Conversations whose counters disagree with their messages: a new message would
    take a number already used, or a page would count wrong."""
    problems = []
    for cid, (last, counted, top_seq, top_change, live) in numbers.items():
        if last < max(top_seq, top_change):
            problems.append(f"conversation {cid}: last_seq {last} below a used number")
        if counted != live:
            problems.append(f"conversation {cid}: message_count {counted}, {live} messages")
    return problems


# Rows as JSON --------------------------------------------------------------------------


def to_json(row: Mapping[str, Any]) -> Row:
    return {k: _plain(v) for k, v in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_json(table: Table, document: Mapping[str, Any]) -> Row:
    """A row of `table` from `to_json`'s form; a key the table lacks is refused."""
    row: Row = {}
    for name, value in document.items():
        if name not in table.c:
            raise ValueError(f"{table.name} has no column {name!r}")
        column_type = table.c[name].type
        if value is None:
            row[name] = None
        elif isinstance(column_type, Uuid):
            row[name] = uuid.UUID(value)
        elif isinstance(column_type, UTCDateTime):
            row[name] = datetime.fromisoformat(value)
        elif isinstance(column_type, UuidList):
            row[name] = [uuid.UUID(v) for v in value]
        else:
            row[name] = value
    return row


def conversation_subset(ids: list[uuid.UUID]) -> dict[str, ColumnElement[bool]]:
    """Per content table, the rows some conversations need: their participants,
    messages, reactions and files, every user these name (and their avatars), and
    the spaces the conversations are in."""
    t = Base.metadata.tables
    conv, msg, part = t["conversations"], t["messages"], t["conversation_participants"]
    react, carried_by, files = t["message_reactions"], t["message_files"], t["files"]
    users, spaces, members = t["users"], t["spaces"], t["space_members"]
    messages_of = select(msg.c.id).where(msg.c.conversation_id.in_(ids))
    space_ids = select(conv.c.space_id).where(conv.c.id.in_(ids))
    carried = union(
        select(carried_by.c.file_id).where(carried_by.c.message_id.in_(messages_of)),
        select(conv.c.avatar_file_id).where(conv.c.id.in_(ids)),
        select(spaces.c.avatar_file_id).where(spaces.c.id.in_(space_ids)),
    )
    people = union(
        select(part.c.user_id).where(part.c.conversation_id.in_(ids)),
        select(msg.c.sender_id).where(msg.c.conversation_id.in_(ids)),
        select(react.c.user_id).where(react.c.message_id.in_(messages_of)),
        select(conv.c.created_by).where(conv.c.id.in_(ids)),
        select(spaces.c.created_by).where(spaces.c.id.in_(space_ids)),
        select(files.c.owner_id).where(files.c.id.in_(carried)),
    )
    avatars = select(users.c.avatar_file_id).where(users.c.id.in_(people))
    return {
        "users": users.c.id.in_(people),
        "spaces": spaces.c.id.in_(space_ids),
        "space_members": and_(members.c.space_id.in_(space_ids), members.c.user_id.in_(people)),
        "conversations": conv.c.id.in_(ids),
        "conversation_participants": part.c.conversation_id.in_(ids),
        "messages": msg.c.conversation_id.in_(ids),
        "message_reactions": react.c.message_id.in_(messages_of),
        "files": or_(files.c.id.in_(carried), files.c.id.in_(avatars)),
        "message_files": carried_by.c.message_id.in_(messages_of),
    }

"""The participants a page of conversations shows, as rows on the driver.

`hubbub.queries.views.Views.participants` -> here -> the database driver, inside the
caller's session (its connection and, on PostgreSQL, its transaction). A conversation
list page of 100 conversations carries 2,000 participants and more; through
SQLAlchemy's result objects (a `Row` per participant, its `_asdict`) that was a third
of the page's time. Here the statement is compiled once per number of conversations
asked (`hubbub.store.prepared`: a list page asks for up to 100, so at most a few
hundred shapes are kept) and its rows come back as tuples.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Participant
from hubbub.store.prepared import Prepared, RawBatch, _AsyncpgBatch, _SqliteBatch

_P = cast(Table, Participant.__table__)

# A participant's view's columns (`participant_public`'s fields but `user`, and the
# two that make `notificationsEnabled`), in this order.
PARTICIPANT_VIEW_COLUMNS = (
    "conversation_id",
    "user_id",
    "role",
    "status",
    "joined_at",
    "last_read_at",
    "last_read_message_id",
    "last_read_seq",
    "can_send_messages",
    "can_upload_files",
    "can_add_members",
    "can_remove_members",
    "notify_level",
    "muted_until",
)

_statements: dict[tuple[int, bool], Prepared] = {}


def _participants(count: int, *, first_only: bool) -> Prepared:
    """ACTIVE participants of `count` conversations (`c0`, `c1`, …), per conversation in
    join order; with `first_only`, the first `per_conversation` of each."""
    found = _statements.get((count, first_only))
    if found is not None:
        return found
    ids = [bindparam(f"c{i}", type_=_P.c.conversation_id.type) for i in range(count)]
    ranked = (
        select(
            *(_P.c[name] for name in PARTICIPANT_VIEW_COLUMNS),
            func.row_number()
            .over(partition_by=_P.c.conversation_id, order_by=(_P.c.joined_at, _P.c.id))
            .label("rank"),
        )
        .where(_P.c.conversation_id.in_(ids))
        .where(_P.c.status == ParticipantStatus.ACTIVE)
        .subquery()
    )
    # Raw columns: the rows repeat a few conversations, users and instants thousands of
    # times, so each distinct value is converted once (`_converted`).
    raw: list[Any] = [
        type_coerce(ranked.c[name], NullType()).label(name) for name in PARTICIPANT_VIEW_COLUMNS
    ]
    query = select(*raw)
    if first_only:
        query = query.where(ranked.c.rank <= bindparam("per_conversation", type_=BigInteger))
    statement = Prepared(query.order_by(ranked.c.conversation_id, ranked.c.rank))
    _statements[(count, first_only)] = statement
    return statement


async def session_reads(session: AsyncSession) -> RawBatch:
    """Prepared statements on the session's own connection (in its transaction), after
    its pending changes are written, as an ORM query would."""
    await session.flush()
    conn = await session.connection()
    sync_connection = conn.sync_connection
    assert sync_connection is not None
    driver = (await conn.get_raw_connection()).driver_connection
    observed = conn.engine.sync_engine
    if conn.dialect.name == "sqlite":
        assert driver is not None
        return _SqliteBatch(sync_connection, observed, driver.sqlite_connection, [])
    return _AsyncpgBatch(sync_connection, observed, driver, [])


async def participant_view_rows_txn(
    session: AsyncSession,
    conversation_ids: Sequence[uuid.UUID],
    *,
    per_conversation: int | None,
) -> list[tuple[Any, ...]]:
    """ACTIVE participants' `PARTICIPANT_VIEW_COLUMNS`, per conversation in join order
    (the first `per_conversation` of each, or all)."""
    if not conversation_ids:
        return []
    statement = _participants(len(conversation_ids), first_only=per_conversation is not None)
    values: dict[str, Any] = {f"c{i}": cid for i, cid in enumerate(conversation_ids)}
    values["per_conversation"] = per_conversation
    reads = await session_reads(session)
    return _converted(await reads.rows(statement, values), reads.dialect)


def _converted(rows: list[tuple[Any, ...]], dialect: Dialect) -> list[tuple[Any, ...]]:
    """The raw rows with each column's values as its type returns them, each distinct
    value converted once."""
    processors = [
        _P.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        for name in PARTICIPANT_VIEW_COLUMNS
    ]
    seen: list[dict[Any, Any]] = [{} for _ in processors]
    out = []
    for row in rows:
        values = []
        for value, process, known in zip(row, processors, seen, strict=True):
            if process is None or value is None:
                values.append(value)
                continue
            converted = known.get(value)
            if converted is None:
                converted = known[value] = process(value)
            values.append(converted)
        out.append(tuple(values))
    return out

"""The participants a page of conversations shows, as rows on the driver.

`hubbub.queries.views.Views.participants` -> `hubbub.store.view_reads` -> here -> the
database driver, inside the caller's session (its connection and, on PostgreSQL, its
transaction; `session_reads`, taken once for all of a page's reads). A conversation
list page of 100 conversations carries 2,000 participants and more; through
SQLAlchemy's result objects (a `Row` per participant, its `_asdict`) that was a third
of the page's time. Here the statement is compiled once per number of conversations
asked (`hubbub.store.prepared`: a list page asks for up to 100, so at most a few
hundred shapes are kept) and its rows come back as the driver gives them, with what
converts each column (`hubbub.queries.participant_rows` converts each distinct value
once).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Participant
from hubbub.store.prepared import Prepared, Processor, RawBatch, _AsyncpgBatch, _SqliteBatch

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
    # Raw columns: the rows repeat a few conversations, users and instants thousands of
    # times, so each distinct value is converted once (`hubbub.queries.participant_rows`).
    if first_only:
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
        raw: list[Any] = [
            type_coerce(ranked.c[name], NullType()).label(name) for name in PARTICIPANT_VIEW_COLUMNS
        ]
        query = (
            select(*raw)
            .where(ranked.c.rank <= bindparam("per_conversation", type_=BigInteger))
            .order_by(ranked.c.conversation_id, ranked.c.rank)
        )
    else:
        # No rank when every row is wanted: on SQLite, 2,000 rows of 100 conversations
        # took 11 ms through the window function and 2 ms without it.
        query = (
            select(
                *(
                    type_coerce(_P.c[name], NullType()).label(name)
                    for name in PARTICIPANT_VIEW_COLUMNS
                )
            )
            .where(_P.c.conversation_id.in_(ids))
            .where(_P.c.status == ParticipantStatus.ACTIVE)
            .order_by(_P.c.conversation_id, _P.c.joined_at, _P.c.id)
        )
    statement = Prepared(query)
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


@dataclass(frozen=True)
class ParticipantRows:
    """`PARTICIPANT_VIEW_COLUMNS` as the driver gives them, and per column what turns a
    value into the one its type returns (None: it is that already)."""

    rows: list[tuple[Any, ...]]
    processors: Sequence[Processor]


async def participant_view_rows(
    reads: RawBatch,
    conversation_ids: Sequence[uuid.UUID],
    *,
    per_conversation: int | None,
    counts: Mapping[uuid.UUID, int],
) -> ParticipantRows:
    """ACTIVE participants, per conversation in join order (the first `per_conversation`
    of each, or all). `counts`: how many each has, so the cap is applied only when one of
    them is over it."""
    processors = [
        _P.c[name].type.dialect_impl(reads.dialect).result_processor(reads.dialect, None)
        for name in PARTICIPANT_VIEW_COLUMNS
    ]
    if not conversation_ids:
        return ParticipantRows([], processors)
    capped = per_conversation is not None and any(
        counts.get(cid, 0) > per_conversation for cid in conversation_ids
    )
    statement = _participants(len(conversation_ids), first_only=capped)
    values: dict[str, Any] = {f"c{i}": cid for i, cid in enumerate(conversation_ids)}
    if capped:
        values["per_conversation"] = per_conversation
    return ParticipantRows(await reads.rows(statement, values), processors)

"""The last message of each conversation on a list page, as rows on the driver.

`hubbub.queries.last_messages` -> here -> the database driver, inside the caller's
session (its connection and, on PostgreSQL, its transaction). A page of 100
conversations shows up to 100 last messages, each with its sender, reactions and
attachments, and the viewer's own with their DELIVERED / READ status. Through the ORM
(the entities, then a query each for the senders, the attachments, the reactions and
the markers) that was ~5 ms of the page's ~30 on SQLite, most of it SQLAlchemy's. Here
the same four questions are asked of the driver with statements compiled once
(`hubbub.store.prepared`), the rows in the columns the history page reads
(`hubbub.store.page_reads`), so both become views the same way
(`hubbub.queries.history.message_views`).

The ids go in as one bound parameter each. So that a statement is compiled once per
size class rather than per number of ids, the list is padded to the next power of two
by repeating its last id (a repeated id in `IN (...)` changes nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Column, Select, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Message, MessageFile, Participant, Reaction
from hubbub.store.page_reads import message_attachments, messages_with_senders
from hubbub.store.participant_reads import session_reads
from hubbub.store.prepared import Prepared, RawBatch

_M = cast(Table, Message.__table__)
_P = cast(Table, Participant.__table__)
_R = cast(Table, Reaction.__table__)
_MF = cast(Table, MessageFile.__table__)


def _messages(ids: list[Any]) -> Select[Any]:
    """The messages, with their senders (`MESSAGE_COLUMNS` + `SENDER_COLUMNS`)."""
    return messages_with_senders().where(_M.c.id.in_(ids))


def _reactions(ids: list[Any]) -> Select[Any]:
    """(message id, emoji, user id) of the messages' reactions, oldest first."""
    return (
        select(_R.c.message_id, _R.c.emoji, _R.c.user_id)
        .where(_R.c.message_id.in_(ids))
        .order_by(_R.c.created_at, _R.c.id)
    )


def _attachments(ids: list[Any]) -> Select[Any]:
    """The messages' attachments (`message_attachments`), by message, in order."""
    return (
        message_attachments()
        .where(_MF.c.message_id.in_(ids))
        .order_by(_MF.c.message_id, _MF.c.position)
    )


def _lowest_markers(ids: list[Any]) -> Select[Any]:
    """Per conversation, the lowest (read, delivered) markers of the ACTIVE participants
    other than the viewer."""
    return (
        select(
            _P.c.conversation_id, func.min(_P.c.last_read_seq), func.min(_P.c.last_delivered_seq)
        )
        .where(_P.c.conversation_id.in_(ids))
        .where(_P.c.status == ParticipantStatus.ACTIVE)
        .where(_P.c.user_id != bindparam("viewer", type_=_P.c.user_id.type))
        .group_by(_P.c.conversation_id)
    )


_Shape = Callable[[list[Any]], Select[Any]]
_statements: dict[tuple[_Shape, int], Prepared] = {}


def _padded(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    size = 1
    while size < len(ids):
        size *= 2
    return [*ids, *([ids[-1]] * (size - len(ids)))]


async def _rows(
    reads: RawBatch,
    shape: _Shape,
    column: Column[Any],
    ids: Sequence[uuid.UUID],
    **values: Any,
) -> list[tuple[Any, ...]]:
    if not ids:
        return []
    padded = _padded(ids)
    statement = _statements.get((shape, len(padded)))
    if statement is None:
        binds = [bindparam(f"i{n}", type_=column.type) for n in range(len(padded))]
        statement = _statements[(shape, len(padded))] = Prepared(shape(binds))
    return await reads.rows(statement, {f"i{n}": v for n, v in enumerate(padded)} | values)


class LastMessageReads:
    """The four reads of a page's last messages, on one session's connection."""

    def __init__(self, reads: RawBatch) -> None:
        self._reads = reads

    @classmethod
    async def of(cls, session: AsyncSession) -> LastMessageReads:
        return cls(await session_reads(session))

    async def messages(self, message_ids: Sequence[uuid.UUID]) -> list[tuple[Any, ...]]:
        """The messages with their senders' columns, in no particular order."""
        return await _rows(self._reads, _messages, _M.c.id, message_ids)

    async def reactions(self, message_ids: Sequence[uuid.UUID]) -> list[tuple[Any, ...]]:
        return await _rows(self._reads, _reactions, _R.c.message_id, message_ids)

    async def attachments(self, message_ids: Sequence[uuid.UUID]) -> list[tuple[Any, ...]]:
        return await _rows(self._reads, _attachments, _MF.c.message_id, message_ids)

    async def lowest_markers(
        self, conversation_ids: Sequence[uuid.UUID], viewer: uuid.UUID
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Per conversation, the others' lowest (read, delivered) markers; a conversation
        where nobody else is has none."""
        rows = await _rows(
            self._reads, _lowest_markers, _P.c.conversation_id, conversation_ids, viewer=viewer
        )
        return {cid: (int(r), int(d)) for cid, r, d in rows if r is not None}

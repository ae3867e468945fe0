"""A page of the conversation list, as rows on the driver.

`hubbub.queries.conversations.ConversationQueries.list_for` -> here -> the database
driver, inside the caller's session (its connection and, on PostgreSQL, its
transaction). Loaded as ORM entities, a page of 100 conversations with the caller's
participant rows took ~6 ms on SQLite, of which the SQL was 1.6 ms: the rest was
SQLAlchemy making 200 entities of ~15 columns each, of which the list shows a dozen.
Here the statements are compiled once (`hubbub.store.prepared`) and each row becomes
two small records of the columns the list's view needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ConversationType, ParticipantStatus, Role
from hubbub.domain.notify_rules import NotifyLevel
from hubbub.store.models import Conversation, Participant
from hubbub.store.participant_reads import session_reads
from hubbub.store.prepared import Prepared

_C = cast(Table, Conversation.__table__)
_P = cast(Table, Participant.__table__)


@dataclass(frozen=True, slots=True)
class ShownConversation:
    """The columns of a conversation its view shows (`conversation_public`): read so
    for a list page, or taken from a stored `Conversation` (`of`)."""

    id: uuid.UUID
    type: ConversationType
    name: str | None
    description: str | None
    avatar_file_id: uuid.UUID | None
    space_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime
    last_message_id: uuid.UUID | None
    last_seq: int

    @classmethod
    def of(cls, conversation: Conversation) -> ShownConversation:
        return cls(*(getattr(conversation, name) for name in _CONVERSATION_COLUMNS))


@dataclass(frozen=True, slots=True)
class ShownMembership:
    """The viewer's participant row, as far as the view of a conversation needs it:
    read so for a list page, or taken from a stored `Participant` (`of`)."""

    status: ParticipantStatus
    is_archived: bool
    role: Role
    notify_level: NotifyLevel | None
    muted_until: datetime | None

    @classmethod
    def of(cls, participant: Participant) -> ShownMembership:
        return cls(*(getattr(participant, name) for name in _MEMBERSHIP_COLUMNS))


# The records' columns, in their fields' order.
_CONVERSATION_COLUMNS = tuple(ShownConversation.__dataclass_fields__)
_MEMBERSHIP_COLUMNS = tuple(ShownMembership.__dataclass_fields__)
_SPLIT = len(_CONVERSATION_COLUMNS)


def _mine() -> Select[Any]:
    """The caller's ACTIVE conversations, archived or not as asked."""
    return (
        select(
            *(_C.c[name] for name in _CONVERSATION_COLUMNS),
            *(_P.c[name] for name in _MEMBERSHIP_COLUMNS),
        )
        .select_from(_P.join(_C, _C.c.id == _P.c.conversation_id))
        .where(_P.c.user_id == bindparam("viewer", type_=_P.c.user_id.type))
        .where(_P.c.status == ParticipantStatus.ACTIVE)
        .where(_P.c.is_archived == bindparam("archived", type_=_P.c.is_archived.type))
    )


def _page(query: Select[Any]) -> Prepared:
    return Prepared(
        query.order_by(_C.c.last_message_at.desc(), _C.c.id.desc()).limit(
            bindparam("limit", type_=Integer)
        )
    )


_AT = bindparam("at", type_=_C.c.last_message_at.type)
_NEWEST = _page(_mine())
_BEFORE = _page(_mine().where(_C.c.last_message_at < _AT))
_AFTER = _page(
    _mine().where(
        or_(
            _C.c.last_message_at < _AT,
            and_(
                _C.c.last_message_at == _AT,
                _C.c.id < bindparam("after_id", type_=_C.c.id.type),
            ),
        )
    )
)
_TOTAL = Prepared(select(func.count()).select_from(_mine().subquery()))


async def conversation_page_txn(
    session: AsyncSession,
    viewer: uuid.UUID,
    *,
    limit: int,
    before: datetime | None,
    after: tuple[datetime, uuid.UUID] | None = None,
    archived: bool,
) -> tuple[list[tuple[ShownConversation, ShownMembership]], int, bool]:
    """A page of the viewer's conversations, latest message first (on the same instant,
    the larger id first), with the viewer's own participant rows; how many there are in
    all (`before` aside); and whether more follow. `before`: only those whose last
    message is older; `after`: only those after this (lastMessageAt, id) in that order."""
    reads = await session_reads(session)
    values: dict[str, Any] = {"viewer": viewer, "archived": archived, "limit": limit + 1}
    statement = _NEWEST
    if after is not None:
        statement = _AFTER
        values["at"], values["after_id"] = after
    elif before is not None:
        statement = _BEFORE
        values["at"] = before
    rows = await reads.rows(statement, values)
    ((total,),) = await reads.rows(_TOTAL, {"viewer": viewer, "archived": archived})
    found = [
        (ShownConversation(*row[:_SPLIT]), ShownMembership(*row[_SPLIT:])) for row in rows[:limit]
    ]
    return found, int(total or 0), len(rows) > limit

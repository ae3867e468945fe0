"""What the views of a page of conversations read beside the page itself, as rows on the
driver: their last messages, their participant counts, the viewer's unread counts, the
participants' users.

`hubbub.queries.views.Views` and `hubbub.queries.last_messages` -> here -> the
database driver, inside the caller's session (its connection and, on PostgreSQL, its
transaction). A list page of 100 conversations shows up to 100 last messages, each
with its sender, reactions and attachments, and the viewer's own with their DELIVERED
/ READ status. Through the ORM (the entities, then a query each for the senders, the
attachments, the reactions and the markers) that was ~5 ms of the page's ~30 on
SQLite, most of it SQLAlchemy's; the counts were ~2 ms each. Here each is one
statement compiled once per size class (`hubbub.store.id_lists`), the messages' rows
in the columns the history page reads (`hubbub.store.page_reads`), so both become
views the same way (`hubbub.queries.history.message_views`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.id_lists import ByIds
from hubbub.store.markers import unread_after_marker
from hubbub.store.models import Message, MessageFile, Participant, Reaction, User
from hubbub.store.page_reads import message_attachments, messages_with_senders
from hubbub.store.participant_reads import ParticipantRows, participant_view_rows, session_reads
from hubbub.store.prepared import RawBatch

_M = cast(Table, Message.__table__)
_P = cast(Table, Participant.__table__)
_R = cast(Table, Reaction.__table__)
_MF = cast(Table, MessageFile.__table__)
_U = cast(Table, User.__table__)


@dataclass(frozen=True, slots=True)
class ShownUser:
    """The columns of a user its view shows (`hubbub.queries.users.user_public`)."""

    id: uuid.UUID
    username: str
    display_name: str | None
    avatar_file_id: uuid.UUID | None
    bio: str | None
    last_seen: datetime | None
    created_at: datetime
    is_bot: bool


_USER_COLUMNS = tuple(ShownUser.__dataclass_fields__)


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


def _participant_counts(ids: list[Any]) -> Select[Any]:
    """The number of ACTIVE participants of each conversation that has any."""
    return (
        select(_P.c.conversation_id, func.count())
        .where(_P.c.conversation_id.in_(ids))
        .where(_P.c.status == ParticipantStatus.ACTIVE)
        .group_by(_P.c.conversation_id)
    )


def _unread(ids: list[Any]) -> Select[Any]:
    """The viewer's unread count and unread mentions in each of the conversations it
    has a participant row in (`hubbub.store.markers`: the participant row's own user is
    the viewer)."""
    return (
        select(
            _P.c.conversation_id,
            unread_after_marker(Participant.user_id),
            unread_after_marker(Participant.user_id, mentioned=True),
        )
        .where(_P.c.user_id == bindparam("viewer", type_=_P.c.user_id.type))
        .where(_P.c.conversation_id.in_(ids))
    )


def _users(ids: list[Any]) -> Select[Any]:
    return select(*(_U.c[name] for name in _USER_COLUMNS)).where(_U.c.id.in_(ids))


_MESSAGES = ByIds(_messages, _M.c.id)
_REACTIONS = ByIds(_reactions, _R.c.message_id)
_ATTACHMENTS = ByIds(_attachments, _MF.c.message_id)
_LOWEST_MARKERS = ByIds(_lowest_markers, _P.c.conversation_id)
_PARTICIPANT_COUNTS = ByIds(_participant_counts, _P.c.conversation_id)
_UNREAD = ByIds(_unread, _P.c.conversation_id)
_USERS = ByIds(_users, _U.c.id)


class ViewReads:
    """The reads of a page's views, on one session's connection."""

    def __init__(self, reads: RawBatch) -> None:
        self._reads = reads

    @classmethod
    async def of(cls, session: AsyncSession) -> ViewReads:
        return cls(await session_reads(session))

    async def messages(self, message_ids: Sequence[uuid.UUID]) -> list[tuple[Any, ...]]:
        """The messages with their senders' columns, in no particular order."""
        return await _MESSAGES.rows(self._reads, message_ids)

    async def reactions(self, message_ids: Sequence[uuid.UUID]) -> list[tuple[Any, ...]]:
        return await _REACTIONS.rows(self._reads, message_ids)

    async def attachments(self, message_ids: Sequence[uuid.UUID]) -> list[tuple[Any, ...]]:
        return await _ATTACHMENTS.rows(self._reads, message_ids)

    async def lowest_markers(
        self, conversation_ids: Sequence[uuid.UUID], viewer: uuid.UUID
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Per conversation, the others' lowest (read, delivered) markers; a conversation
        where nobody else is has none."""
        rows = await _LOWEST_MARKERS.rows(self._reads, conversation_ids, viewer=viewer)
        return {cid: (int(r), int(d)) for cid, r, d in rows if r is not None}

    async def participant_counts(
        self, conversation_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """The number of ACTIVE participants of each conversation (0 for none)."""
        counts = dict.fromkeys(conversation_ids, 0)
        for cid, count in await _PARTICIPANT_COUNTS.rows(self._reads, conversation_ids):
            counts[cid] = int(count)
        return counts

    async def unread_and_mentions(
        self, viewer: uuid.UUID, conversation_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """The viewer's (unread count, unread mentions) per conversation."""
        counts = dict.fromkeys(conversation_ids, (0, 0))
        for cid, unread, mentions in await _UNREAD.rows(
            self._reads, conversation_ids, viewer=viewer
        ):
            counts[cid] = (int(unread), int(mentions))
        return counts

    async def participants(
        self,
        conversation_ids: Sequence[uuid.UUID],
        *,
        per_conversation: int | None,
        counts: Mapping[uuid.UUID, int],
    ) -> ParticipantRows:
        """`hubbub.store.participant_reads.participant_view_rows`, on this connection."""
        return await participant_view_rows(
            self._reads, conversation_ids, per_conversation=per_conversation, counts=counts
        )

    async def users(self, user_ids: Collection[uuid.UUID]) -> list[ShownUser]:
        """The users there are of these ids, in no particular order."""
        return [ShownUser(*row) for row in await _USERS.rows(self._reads, list(user_ids))]

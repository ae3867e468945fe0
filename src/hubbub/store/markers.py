"""Read and delivered markers: moving them, and what is derived from them (unread counts,
the status of one's own messages).

Actions (`hubbub.actions.markers`, `hubbub.actions.conversations`) and queries
(`hubbub.queries.views`) -> here, inside their session. Markers, not counters: a
participant's unread count is the number of others' live messages numbered after their
read marker, and a message's DELIVERED / READ the lowest marker of the others (docs/data-model.md,
"Read markers, not counters"), so a send writes nothing per participant.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageType, ParticipantStatus
from hubbub.store.dialect import mentions_user
from hubbub.store.models import Message, Participant


def unread_condition(participant_user: uuid.UUID | Any) -> list[ColumnElement[bool]]:
    """What counts as unread for a participant (docs/data-model.md, "Read markers")."""
    return [
        Message.sender_id != participant_user,
        Message.type != MessageType.SYSTEM,
        Message.deleted_at.is_(None),
    ]


def mentions_participant() -> ColumnElement[bool]:
    """A message mentions the participant row's user: by name, or everyone by @all (its
    metadata's `mentionAll`) unless it sent it. The one condition of the mentions feed,
    the unread mention counts and the digests."""
    return or_(
        mentions_user(Message.mentions, Participant.user_id),
        and_(
            Message.metadata_["mentionAll"].as_boolean().is_(True),
            Message.sender_id != Participant.user_id,
        ),
    )


def unread_after_marker(user: uuid.UUID | Any, *, mentioned: bool = False) -> ScalarSelect[int]:
    # Correlated per participant row: always an index range scan on (conversation_id, seq)
    # from the marker on, whatever the planner thinks of joining whole conversations.
    query = (
        select(func.count(Message.id))
        .where(Message.conversation_id == Participant.conversation_id)
        .where(Message.seq > Participant.last_read_seq)
        .where(*unread_condition(user))
    )
    if mentioned:  # of the participant row's own user, which is `user`
        query = query.where(mentions_participant())
    return query.correlate(Participant).scalar_subquery()


async def unread_counts_txn(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_ids: Iterable[uuid.UUID],
    *,
    mentioned: bool = False,
) -> dict[uuid.UUID, int]:
    """The caller's unread count per conversation (with `mentioned`, of the unread
    messages that mention it), from its read markers, in one query."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Participant.conversation_id, unread_after_marker(user_id, mentioned=mentioned))
        .where(Participant.user_id == user_id)
        .where(Participant.conversation_id.in_(ids))
    )
    counts: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    for cid, count in rows.all():
        counts[cid] = int(count)
    return counts


async def unread_counts_of_everyone_txn(
    session: AsyncSession, conversation_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Every ACTIVE participant's unread count in one conversation, in one query."""
    rows = await session.execute(
        select(Participant.user_id, unread_after_marker(Participant.user_id))
        .where(Participant.conversation_id == conversation_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    return {uid: int(count) for uid, count in rows.all()}


async def unread_counts_of_users_txn(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, int, int]]:
    """(user, conversation, unread count, unread mentions) for every ACTIVE participation
    of `user_ids`, in one query (a node's live unread counts, `hubbub.realtime.unread`)."""
    if not user_ids:
        return []
    rows = await session.execute(
        select(
            Participant.user_id,
            Participant.conversation_id,
            unread_after_marker(Participant.user_id),
            unread_after_marker(Participant.user_id, mentioned=True),
        )
        .where(Participant.user_id.in_(list(user_ids)))
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    return [(uid, cid, int(n), int(m)) for uid, cid, n, m in rows.all()]


async def lowest_markers_txn(
    session: AsyncSession, conversation_ids: Collection[uuid.UUID], viewer: uuid.UUID
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per conversation, the lowest (read, delivered) markers of the ACTIVE participants
    other than the viewer; a conversation where nobody else is has none."""
    marks = await session.execute(
        select(
            Participant.conversation_id,
            func.min(Participant.last_read_seq),
            func.min(Participant.last_delivered_seq),
        )
        .where(Participant.conversation_id.in_(conversation_ids))
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .where(Participant.user_id != viewer)
        .group_by(Participant.conversation_id)
    )
    return {cid: (int(r), int(d)) for cid, r, d in marks.all()}


async def move_read_marker_txn(
    session: AsyncSession, me: Participant, message: Message, now: datetime
) -> None:
    """`me` has read up to `message` (and so received it)."""
    me.last_read_seq = message.seq
    me.last_read_at = now
    me.last_read_message_id = message.id
    me.last_delivered_seq = max(me.last_delivered_seq, message.seq)
    me.updated_at = now
    await session.flush()


def move_delivered_marker(me: Participant, seq: int, now: datetime) -> None:
    """`me` has received up to number `seq` (written when the session commits)."""
    me.last_delivered_seq = seq
    me.updated_at = now

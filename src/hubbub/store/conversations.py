"""The SQL of conversations and their participants, for the actions and queries on them.

Storage, below `hubbub.actions.conversations`, `hubbub.actions.participants`,
`hubbub.actions.spaces` and `hubbub.queries.conversations`. Each `*_txn` function runs
in the session it is given, whose transaction the caller holds; none decides who may
see or do what (`hubbub.store.access`, `hubbub.domain.rules`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Conversation, Participant, User


async def private_conversation_id_txn(session: AsyncSession, key: str) -> uuid.UUID | None:
    """The private conversation of a pair of users (`private_pair_key`), if there is one."""
    return await session.scalar(select(Conversation.id).where(Conversation.private_pair_key == key))


async def active_participants_txn(
    session: AsyncSession, conversation_id: uuid.UUID, *, only: set[uuid.UUID] | None = None
) -> Sequence[Participant]:
    """The ACTIVE participants of a conversation (those of `only`, when given)."""
    query = select(Participant).where(
        Participant.conversation_id == conversation_id,
        Participant.status == ParticipantStatus.ACTIVE,
    )
    if only is not None:
        query = query.where(Participant.user_id.in_(only))
    return (await session.scalars(query)).all()


async def participants_by_standing_txn(
    session: AsyncSession, conversation_id: uuid.UUID
) -> Sequence[Participant]:
    """The ACTIVE participants of a conversation, longest-standing first."""
    return (
        await session.scalars(
            select(Participant)
            .where(Participant.conversation_id == conversation_id)
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .order_by(Participant.joined_at, Participant.id)
        )
    ).all()


async def active_participant_txn(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Participant | None:
    return await session.scalar(
        select(Participant)
        .where(Participant.conversation_id == conversation_id)
        .where(Participant.user_id == user_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )


async def participant_rows_txn(
    session: AsyncSession, conversation_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Participant]:
    """The participant rows of these users in a conversation, whatever their status."""
    rows = await session.scalars(
        select(Participant)
        .where(Participant.conversation_id == conversation_id)
        .where(Participant.user_id.in_(user_ids))
    )
    return {p.user_id: p for p in rows.all()}


async def active_count_txn(session: AsyncSession, conversation_id: uuid.UUID) -> int:
    active = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(Participant.conversation_id == conversation_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    return active or 0


async def participants_with_users_txn(
    session: AsyncSession, conversation_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[Participant, User]]:
    """The participant rows (whatever their status) and users of these users."""
    rows = (
        await session.execute(
            select(Participant, User)
            .join(User, User.id == Participant.user_id)
            .where(Participant.conversation_id == conversation_id)
            .where(Participant.user_id.in_(user_ids))
        )
    ).all()
    return {p.user_id: (p, u) for p, u in rows}

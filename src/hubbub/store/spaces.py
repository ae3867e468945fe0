"""The SQL of spaces: their members, and the SPACE conversations that follow them.

Storage, below `hubbub.actions.spaces`, `hubbub.actions.conversations` and
`hubbub.queries.spaces`. Each `*_txn` function runs in the session it is given, whose
transaction the caller holds; who may do what is `hubbub.domain.rules`'.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ConversationType, ParticipantStatus, Role
from hubbub.store.models import Conversation, Participant, Space, SpaceMember


async def spaces_of_txn(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Space, SpaceMember]]:
    """The spaces the user is a member of, by name, with the user's membership."""
    rows = await session.execute(
        select(Space, SpaceMember)
        .join(SpaceMember, SpaceMember.space_id == Space.id)
        .where(SpaceMember.user_id == user_id)
        .order_by(Space.name, Space.id)
    )
    return [(r.Space, r.SpaceMember) for r in rows.all()]


async def member_counts_txn(
    session: AsyncSession, space_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(SpaceMember.space_id, func.count())
        .where(SpaceMember.space_id.in_(space_ids))
        .group_by(SpaceMember.space_id)
    )
    return {sid: int(n) for sid, n in rows.all()}


async def lock_space_txn(session: AsyncSession, space_id: uuid.UUID) -> None:
    """Hold the space's row until the end of the transaction. Whatever changes who is
    in the space, or which conversations it has, takes this first: a channel created
    while a member joins or leaves then sees the member list after the change, or the
    change sees the channel (each would otherwise miss what the other adds, on
    PostgreSQL). SQLite's single writer already runs them one at a time."""
    await session.execute(select(Space.id).where(Space.id == space_id).with_for_update())


async def space_members_txn(session: AsyncSession, space_id: uuid.UUID) -> Sequence[SpaceMember]:
    return (
        await session.scalars(select(SpaceMember).where(SpaceMember.space_id == space_id))
    ).all()


async def member_ids_among_txn(
    session: AsyncSession, space_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `user_ids` who are members of the space already."""
    rows = await session.scalars(
        select(SpaceMember.user_id)
        .where(SpaceMember.space_id == space_id)
        .where(SpaceMember.user_id.in_(user_ids))
    )
    return set(rows.all())


async def locked_space_conversations_txn(
    session: AsyncSession, space_id: uuid.UUID
) -> Sequence[Conversation]:
    """The SPACE conversations of a space, locked FOR UPDATE (their members change)."""
    return (
        await session.scalars(
            select(Conversation)
            .where(Conversation.space_id == space_id)
            .where(Conversation.type == ConversationType.SPACE)
            .with_for_update()
        )
    ).all()


async def space_participations_txn(
    session: AsyncSession, space_id: uuid.UUID, user_id: uuid.UUID
) -> Sequence[Participant]:
    """The user's ACTIVE participant rows in the SPACE conversations of a space."""
    return (
        await session.scalars(
            select(Participant)
            .join(Conversation, Conversation.id == Participant.conversation_id)
            .where(Conversation.space_id == space_id)
            .where(Conversation.type == ConversationType.SPACE)
            .where(Participant.user_id == user_id)
            .where(Participant.status == ParticipantStatus.ACTIVE)
        )
    ).all()


async def space_conversations_of_txn(
    session: AsyncSession, space_id: uuid.UUID, viewer: uuid.UUID
) -> list[tuple[Conversation, Participant]]:
    """The SPACE conversations of a space the viewer is ACTIVE in, latest message first,
    with the viewer's participant rows."""
    rows = await session.execute(
        select(Conversation, Participant)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(Conversation.space_id == space_id)
        .where(Conversation.type == ConversationType.SPACE)
        .where(Participant.user_id == viewer)
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    return [(r.Conversation, r.Participant) for r in rows.all()]


async def space_roles_txn(
    session: AsyncSession, space_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Role]:
    """The space roles of those of `user_ids` who are members of the space."""
    rows = await session.execute(
        select(SpaceMember.user_id, SpaceMember.role)
        .where(SpaceMember.space_id == space_id)
        .where(SpaceMember.user_id.in_(user_ids))
    )
    return {uid: role for uid, role in rows.all()}

"""Deleting an account in the database: its memberships, read and ended.

Actions (`hubbub.actions.account_deletion`) -> here, inside their session.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Participant, SpaceMember


async def active_participations_txn(session: AsyncSession, user_id: uuid.UUID) -> list[Participant]:
    """The user's ACTIVE participant rows, locked, in conversation order."""
    rows = await session.scalars(
        select(Participant)
        .where(Participant.user_id == user_id, Participant.status == ParticipantStatus.ACTIVE)
        .order_by(Participant.conversation_id)
        .with_for_update()
    )
    return list(rows.all())


async def leave_spaces_txn(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(delete(SpaceMember).where(SpaceMember.user_id == user_id))

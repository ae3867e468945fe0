"""The mentions feed: messages that mention a user (by name or @all), from the
conversations it is an ACTIVE participant of now, newest first.

Queries (`hubbub.queries.mentions`) -> here, inside their session.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.markers import mentions_participant
from hubbub.store.models import Conversation, Message, Participant


async def mentions_page_txn(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[tuple[Message, str | None]], bool]:
    """Up to `limit` live messages mentioning `user_id`, each with its conversation's
    name, older than `after` (a page's last (created_at, id)) if given; and whether
    there are more."""
    query = (
        select(Message, Conversation.name)
        .join(Participant, Participant.conversation_id == Message.conversation_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Participant.user_id == user_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .where(Message.deleted_at.is_(None))
        .where(mentions_participant())
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Message.created_at < at, and_(Message.created_at == at, Message.id < last_id))
        )
    rows = [(m, name) for m, name in (await session.execute(query)).all()]
    return rows[:limit], len(rows) > limit

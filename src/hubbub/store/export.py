"""What a user's data export reads: their messages (with their conversations) and files.

Queries (`hubbub.queries.export`) -> here, inside their session.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageStatus
from hubbub.store.models import Conversation, Message, StoredFile


async def messages_of_txn(
    session: AsyncSession, user_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Any]:
    """The user's messages not deleted, oldest first (ids are time-ordered), after `after`,
    with their conversation's name and type."""
    query = (
        select(
            Message.id,
            Message.conversation_id,
            Conversation.name,
            Conversation.type.label("conversation_type"),
            Message.type,
            Message.content,
            Message.seq,
            Message.parent_message_id,
            Message.created_at,
            Message.edited_at,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.sender_id == user_id, Message.status != MessageStatus.DELETED)
        .order_by(Message.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Message.id > after)
    return (await session.execute(query)).all()


async def files_of_txn(session: AsyncSession, user_id: uuid.UUID) -> Sequence[StoredFile]:
    rows = await session.scalars(
        select(StoredFile).where(StoredFile.owner_id == user_id).order_by(StoredFile.created_at)
    )
    return rows.all()

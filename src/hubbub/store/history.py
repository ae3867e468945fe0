"""Moving a conversation's past back in time: `hubbub demo` (hubbub.demo) sends its
messages now, through the actions, then spreads them over the weeks it pretends they
took. Only times change; the order (`seq`) stays the one the messages were sent in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.models import Conversation, Message


async def backdate_txn(
    session: AsyncSession, conversation_id: uuid.UUID, times: dict[uuid.UUID, datetime]
) -> None:
    """Give each message of `times` its time, and the conversation its last one."""
    for message_id, at in times.items():
        await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.conversation_id == conversation_id)
            .values(created_at=at, server_timestamp=at, updated_at=at)
        )
    if times:
        first, last = min(times.values()), max(times.values())
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(created_at=first, last_message_at=last)
        )

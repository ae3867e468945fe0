"""Read and delivered markers: a participant has read (or received) up to a message.

Edge -> here -> the store (`hubbub.store.markers`); events after commit. Markers only
move forward; a move is announced (`messages_read`, then the reader's new unread count,
`messages_delivered`), a marker already past the message changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.budgets import Budgets
from hubbub.config import Budget
from hubbub.domain.ids import utcnow
from hubbub.domain.rules import (
    message_not_found,
)
from hubbub.events.catalog import MessagesDelivered, MessagesRead
from hubbub.store.access import (
    access_conversation,
)
from hubbub.store.database import Database
from hubbub.store.markers import move_delivered_marker, move_read_marker_txn, unread_counts_txn
from hubbub.store.messages_read import message_in_txn
from hubbub.store.models import Message
from hubbub.store.unit import emit


@dataclass(frozen=True)
class ReadOutcome:
    unread_count: int
    last_read_seq: int


class MarkerService:
    def __init__(self, db: Database, budgets: Budgets) -> None:
        self._db = db
        self._budgets = budgets

    async def mark_read(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> ReadOutcome:
        await self._budgets.take(Budget.READ_MARKER, viewer)
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id, lock=True)
            message = await _message_or_404(session, conversation_id, message_id)
            me = access.me
            moved = message.seq > me.last_read_seq
            if moved:
                now = utcnow()
                await move_read_marker_txn(session, me, message, now)
            unread = (await unread_counts_txn(session, viewer, [conversation_id]))[conversation_id]
            if moved:
                # The reader's sockets hear `unread_count` from their node's unread
                # coalescer, which `messages_read` wakes (`hubbub.realtime.unread`).
                emit(session, MessagesRead(conversation_id, viewer, message.id, message.seq, now))
            outcome = ReadOutcome(unread_count=unread, last_read_seq=me.last_read_seq)
        return outcome

    async def mark_delivered(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> int:
        await self._budgets.take(Budget.READ_MARKER, viewer)
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id, lock=True)
            message = await _message_or_404(session, conversation_id, message_id)
            me = access.me
            if message.seq > me.last_delivered_seq:
                move_delivered_marker(me, message.seq, utcnow())
                emit(
                    session,
                    MessagesDelivered(conversation_id, viewer, message.id, message.seq),
                )
            delivered = me.last_delivered_seq
        return delivered


async def _message_or_404(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Message:
    message = await message_in_txn(session, conversation_id, message_id)
    if message is None:
        raise message_not_found()
    return message

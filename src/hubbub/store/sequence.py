"""Sequence numbers: how every change to a conversation's messages is numbered.

`take_seq` bumps `conversations.last_seq` with one UPDATE … RETURNING inside the
writing transaction. That UPDATE takes the conversation row's lock (PostgreSQL) or
the database's write lock (SQLite) until commit, so within a conversation number order
is commit order: a reader that has seen number N has seen every change below N
(docs/data-model.md, "Sequence numbers"; docs/socket-protocol.md, "Resume").

`insert_message_txn` numbers one new message that way and adds its row (the one-send
path, SYSTEM messages); `take_seqs` numbers a whole batch of new messages for the group
commit of sends on SQLite (`hubbub.store.send_batch_txn`, which also holds PostgreSQL's
one-statement form).

Actions and store writers (`hubbub.store.messages_write`, `hubbub.store.send_batch_txn`)
-> here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageType
from hubbub.domain.ids import utcnow
from hubbub.store.models import Conversation, Message
from hubbub.store.new_message import NewMessageRecord, message_of, new_message_record
from hubbub.store.prepared import Prepared, RawBatch


async def take_seq(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    new_message: tuple[uuid.UUID, datetime] | None = None,
    count_delta: int = 0,
) -> int:
    """The conversation's next number. With `new_message` (id, time) the conversation's
    last message and activity time move to it."""
    values: dict[str, Any] = {"last_seq": Conversation.last_seq + 1}
    if new_message is not None:
        values["last_message_id"] = new_message[0]
        values["last_message_at"] = new_message[1]
    if count_delta:
        values["message_count"] = Conversation.message_count + count_delta
    seq = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(**values)
        .returning(Conversation.last_seq)
    )
    if seq is None:
        raise LookupError(f"conversation {conversation_id} vanished")
    return int(seq)


_CONVERSATIONS = cast(Table, Conversation.__table__)
# Built once: one executemany per batch of sends, on the driver (`hubbub.store.prepared`).
_MOVE_NUMBERS = Prepared(
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        last_seq=bindparam("b_seq"),
        message_count=_CONVERSATIONS.c.message_count + bindparam("b_count"),
        last_message_id=bindparam("b_last"),
        last_message_at=bindparam("b_at"),
        updated_at=bindparam("b_at"),
    )
)


async def take_seqs(
    tx: RawBatch,
    new_messages: dict[uuid.UUID, list[uuid.UUID]],
    last_seqs: dict[uuid.UUID, int],
    now: datetime,
) -> dict[uuid.UUID, int]:
    """Numbers for new messages, per conversation: {conversation: first number}.

    `new_messages` maps each conversation to its new message ids in order; message i of
    conversation c gets number first[c] + i, and the last one becomes c's last message.
    `last_seqs` are the conversations' numbers as read under their lock in this
    transaction (`access_for_sending`, SQLite); one executemany UPDATE moves them all.
    """
    await tx.run_many(
        _MOVE_NUMBERS,
        [
            {
                "b_id": cid,
                "b_seq": last_seqs[cid] + len(ids),
                "b_count": len(ids),
                "b_last": ids[-1],
                "b_at": now,
            }
            for cid, ids in sorted(new_messages.items())
        ],
    )
    return {cid: last_seqs[cid] + 1 for cid in new_messages}


async def insert_message_txn(session: AsyncSession, record: NewMessageRecord) -> Message:
    """Number a new message (it becomes its conversation's last message) and add its row,
    written at the next flush; the record is numbered too."""
    seq = await take_seq(
        session,
        record["conversation_id"],
        new_message=(record["id"], record["created_at"]),
        count_delta=1,
    )
    record["seq"] = record["change_seq"] = seq
    message = message_of(record)
    session.add(message)
    return message


async def write_system_message(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    actor_id: uuid.UUID,
    text: str,
    metadata: dict[str, Any],
) -> Message:
    """A SYSTEM message (who did what), numbered like any message."""
    record = new_message_record(
        conversation_id,
        actor_id,
        message_type=MessageType.SYSTEM,
        content=text,
        metadata=metadata,
        mentions=[],
        now=utcnow(),
    )
    message = await insert_message_txn(session, record)
    await session.flush()
    return message

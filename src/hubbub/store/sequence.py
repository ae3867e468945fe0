"""Sequence numbers: how every change to a conversation's messages is numbered.

`take_seq` bumps `conversations.last_seq` with one UPDATE … RETURNING inside the
writing transaction. That UPDATE takes the conversation row's lock (PostgreSQL) or
the database's write lock (SQLite) until commit, so within a conversation number order
is commit order: a reader that has seen number N has seen every change below N
(DATA.md, "Sequence numbers"; PROTOCOL.md, "Resume").

`store_new_messages` numbers and inserts a whole batch of new messages (the group
commit of sends). On SQLite, inside the batch's write transaction, one executemany
UPDATE moves the numbers read by `access_for_sending` and one executemany INSERT adds
the rows. On PostgreSQL the batch makes no transaction of its own (each round trip costs
a turn of a busy event loop): one statement locks the conversations in id order, adds
each one's count of new messages to its `last_seq` and inserts the messages numbered
from the result, so numbering and storing are one atomic step, as `take_seq` is.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, Text, bindparam, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageStatus, MessageType
from hubbub.domain.ids import new_id, utcnow
from hubbub.store.dialect import UTCDateTime
from hubbub.store.models import Conversation, Message
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


_MESSAGES = cast(Table, Message.__table__)
# Every column, given in every row (`new_message_row`): no column default runs here.
_INSERT_MESSAGES = Prepared(insert(_MESSAGES), columns=[c.name for c in _MESSAGES.columns])

# PostgreSQL: lock, number and insert in one statement. `rows` is a JSON array of the
# new messages, `position` numbering each within its conversation from 0.
_NUMBER_AND_INSERT = Prepared(
    text(
        """
WITH batch AS (
  SELECT * FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS m(
    id UUID, conversation_id UUID, sender_id UUID, type VARCHAR, content TEXT,
    metadata JSONB, mentions UUID[], client_timestamp TIMESTAMPTZ,
    optimistic_id VARCHAR, position BIGINT)
), counts AS (
  SELECT conversation_id, count(*) AS n, (array_agg(id ORDER BY position DESC))[1] AS last_id
  FROM batch GROUP BY conversation_id
), locked AS (
  SELECT c.id FROM conversations AS c
  WHERE c.id IN (SELECT conversation_id FROM counts)
  ORDER BY c.id FOR UPDATE
), moved AS (
  UPDATE conversations AS c
  SET last_seq = c.last_seq + counts.n, message_count = c.message_count + counts.n,
      last_message_id = counts.last_id, last_message_at = :at, updated_at = :at
  FROM counts
  WHERE c.id = counts.conversation_id AND c.id IN (SELECT id FROM locked)
  RETURNING c.id, c.last_seq, counts.n
)
INSERT INTO messages (id, conversation_id, sender_id, type, content, status, seq,
  change_seq, parent_message_id, thread_id, reply_count, metadata, mentions,
  client_timestamp, server_timestamp, created_at, updated_at, edited_at, deleted_at,
  optimistic_id)
SELECT b.id, b.conversation_id, b.sender_id, b.type, b.content, :sent,
  moved.last_seq - moved.n + b.position + 1, moved.last_seq - moved.n + b.position + 1,
  NULL, NULL, 0, b.metadata, b.mentions, b.client_timestamp, :at, :at, :at, NULL, NULL,
  b.optimistic_id
FROM batch AS b JOIN moved ON moved.id = b.conversation_id
RETURNING id, seq
"""
    ).bindparams(
        bindparam("rows", type_=Text()),
        bindparam("at", type_=UTCDateTime()),
        bindparam("sent", value=MessageStatus.SENT.value, type_=Text()),
    )
)


async def store_new_messages(
    tx: RawBatch,
    rows: dict[uuid.UUID, list[dict[str, Any]]],
    last_seqs: dict[uuid.UUID, int],
    now: datetime,
) -> dict[uuid.UUID, int]:
    """Number and insert new messages (`new_message_row`, by conversation, in order);
    {message id: its number}. A message missing from the answer was not stored: its
    conversation was deleted meanwhile (PostgreSQL)."""
    if tx.isolated:
        firsts = await take_seqs(
            tx, {cid: [r["id"] for r in batch] for cid, batch in rows.items()}, last_seqs, now
        )
        numbered: dict[uuid.UUID, int] = {}
        for cid, batch in rows.items():
            for offset, row in enumerate(batch):
                row["seq"] = row["change_seq"] = numbered[row["id"]] = firsts[cid] + offset
        await tx.run_many(_INSERT_MESSAGES, [row for batch in rows.values() for row in batch])
        return numbered
    document = orjson.dumps(
        [
            {
                "id": row["id"],
                "conversation_id": cid,
                "sender_id": row["sender_id"],
                "type": row["type"],
                "content": row["content"],
                "metadata": row["metadata"],
                "mentions": row["mentions"],
                "client_timestamp": row["client_timestamp"],
                "optimistic_id": row["optimistic_id"],
                "position": position,
            }
            for cid, batch in sorted(rows.items())
            for position, row in enumerate(batch)
        ],
        default=str,  # asyncpg's own UUID type, which orjson does not know
    ).decode()
    stored = await tx.rows(_NUMBER_AND_INSERT, {"rows": document, "at": now})
    numbered = {message_id: int(seq) for message_id, seq in stored}
    for batch in rows.values():
        for row in batch:
            seq = numbered.get(row["id"])
            if seq is not None:
                row["seq"] = row["change_seq"] = seq
    return numbered


async def write_system_message(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    actor_id: uuid.UUID,
    text: str,
    metadata: dict[str, Any],
) -> Message:
    """A SYSTEM message (who did what), numbered like any message."""
    now = utcnow()
    message_id = new_id()
    seq = await take_seq(session, conversation_id, new_message=(message_id, now), count_delta=1)
    message = Message(
        id=message_id,
        conversation_id=conversation_id,
        sender_id=actor_id,
        type=MessageType.SYSTEM,
        content=text,
        status=MessageStatus.SENT,
        seq=seq,
        change_seq=seq,
        reply_count=0,
        metadata_=metadata,
        mentions=[],
        server_timestamp=now,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    await session.flush()
    return message

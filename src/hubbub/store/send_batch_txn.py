"""The group commit's statements: a batch of new messages numbered and stored at once.

Actions (`hubbub.actions.send_batch`) -> here -> the driver (`hubbub.store.prepared`).
Each statement is built once, on the tables, and run on a `RawBatch`; the mention
lookup also serves the one-send path, in its session (`Statements`).

`store_new_messages_txn` numbers and inserts a whole batch of new messages. On SQLite,
inside the batch's write transaction, one executemany UPDATE moves the numbers read by
`access_for_sending` and one executemany INSERT adds the rows. On PostgreSQL the batch
makes no transaction of its own (each round trip costs a turn of a busy event loop):
one statement locks the conversations in id order, adds each one's count of new
messages to its `last_seq` and inserts the messages numbered from the result, so
numbering and storing are one atomic step, as `take_seq` is.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import Table, Text, bindparam, insert, select, text

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.dialect import UTCDateTime, among_pairs, pair_values
from hubbub.store.models import Message, Participant
from hubbub.store.new_message import NewMessageRecord
from hubbub.store.prepared import Prepared, RawBatch, Statements
from hubbub.store.sequence import take_seqs

_MESSAGES = cast(Table, Message.__table__)
_PARTICIPANTS = cast(Table, Participant.__table__)

_MENTIONED = Prepared(
    select(_PARTICIPANTS.c.conversation_id, _PARTICIPANTS.c.user_id)
    .where(among_pairs(_PARTICIPANTS.c.conversation_id, _PARTICIPANTS.c.user_id))
    .where(_PARTICIPANTS.c.status == ParticipantStatus.ACTIVE)
)


async def present_mentions_txn(
    tx: Statements, wanted: Collection[tuple[uuid.UUID, uuid.UUID]]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Of the (conversation, user) pairs, those whose user is ACTIVE in the conversation,
    in one query (each pair one probe of the participants' unique index)."""
    if not wanted:
        return set()
    return {(cid, uid) for cid, uid in await tx.rows(_MENTIONED, pair_values(wanted))}


# Every column, given in every record (`NewMessageRecord`): no column default runs here.
_COLUMNS = [c.name for c in _MESSAGES.columns]
_INSERT_MESSAGES = Prepared(insert(_MESSAGES), columns=_COLUMNS)


def _number_and_insert_sql() -> str:
    """PostgreSQL: lock, number and insert in one statement. `rows` is a JSON array of
    the new messages' records, by conversation and in order within each; the table's own
    row type reads them (`jsonb_populate_record`), so the columns are named once, by the
    record, and `position` numbers each message within its conversation from 0.

    The senders' participant rows are locked (FOR SHARE) before the conversations, in
    the order a removal takes them (its participant row, then the conversation for its
    SYSTEM message): a removal or a mute committed since the batch's access check is
    seen here (PostgreSQL re-reads a row it waited for), and its sender's messages are
    left out; one not yet committed waits for this statement, whose messages then come
    before the removal's SYSTEM message."""
    numbered = "moved.last_seq - moved.n + b.position + 1"
    values = ", ".join(numbered if c in ("seq", "change_seq") else f"b.{c}" for c in _COLUMNS)
    # Only column names of the model go into this text; the values are bound.
    return f"""
WITH given AS (
  SELECT m.*, o.n FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS o(doc, n)
  CROSS JOIN LATERAL jsonb_populate_record(CAST(NULL AS messages), o.doc) AS m
), permitted AS (
  SELECT p.conversation_id, p.user_id FROM conversation_participants AS p
  WHERE (p.conversation_id, p.user_id) IN (SELECT conversation_id, sender_id FROM given)
    AND p.status = :active AND p.can_send_messages
  ORDER BY p.conversation_id, p.user_id FOR SHARE
), batch AS (
  SELECT given.*, row_number() OVER (PARTITION BY conversation_id ORDER BY n) - 1 AS position
  FROM given
  WHERE (conversation_id, sender_id) IN (SELECT conversation_id, user_id FROM permitted)
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
INSERT INTO messages ({", ".join(_COLUMNS)})
SELECT {values}
FROM batch AS b JOIN moved ON moved.id = b.conversation_id
RETURNING id, seq
"""  # noqa: S608


_NUMBER_AND_INSERT = Prepared(
    text(_number_and_insert_sql()).bindparams(
        bindparam("rows", type_=Text()),
        bindparam("at", type_=UTCDateTime()),
        bindparam("active", value=ParticipantStatus.ACTIVE.value, type_=Text()),
    )
)


async def store_new_messages_txn(
    tx: RawBatch,
    records: dict[uuid.UUID, list[NewMessageRecord]],
    last_seqs: dict[uuid.UUID, int],
    now: datetime,
) -> dict[uuid.UUID, int]:
    """Number and insert new messages (by conversation, in order), numbering their
    records too; {message id: its number}. A message missing from the answer was not
    stored (PostgreSQL): its sender was removed or muted, or its conversation deleted,
    since the access check."""
    if tx.isolated:
        firsts = await take_seqs(
            tx, {cid: [r["id"] for r in batch] for cid, batch in records.items()}, last_seqs, now
        )
        numbered: dict[uuid.UUID, int] = {}
        for cid, batch in records.items():
            for offset, record in enumerate(batch):
                record["seq"] = record["change_seq"] = numbered[record["id"]] = firsts[cid] + offset
        await tx.run_many(
            _INSERT_MESSAGES, [record for batch in records.values() for record in batch]
        )
        return numbered
    document = orjson.dumps(
        [record for _, batch in sorted(records.items()) for record in batch],
        default=str,  # asyncpg's own UUID type, which orjson does not know
    ).decode()
    stored = await tx.rows(
        _NUMBER_AND_INSERT,
        {"rows": document, "at": now, "active": ParticipantStatus.ACTIVE.value},
    )
    numbered = {message_id: int(seq) for message_id, seq in stored}
    for batch in records.values():
        for record in batch:
            seq = numbered.get(record["id"])
            if seq is not None:
                record["seq"] = record["change_seq"] = seq
    return numbered

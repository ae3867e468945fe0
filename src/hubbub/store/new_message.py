"""The one record of a new message: its `messages` row, by column name, before it is stored.

Actions -> here (`new_message_record`) -> the store's writers: the group commit of sends
(`hubbub.store.send_batch_txn`), the one-send path and SYSTEM messages
(`hubbub.store.sequence.insert_message_txn`). The presenter of a new message
(`hubbub.queries.presenters.fresh_message_view`) reads the same record, so a message just
written needs no query to be shown. A record is a plain dict at run time (a TypedDict):
the group commit hands it to the driver as it is, with no copy per send.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypedDict

from hubbub.domain.enums import MessageStatus, MessageType
from hubbub.domain.ids import new_id
from hubbub.store.models import Message


class NewMessageRecord(TypedDict):
    """Every column of `messages` (no column default runs on the group commit's path).
    `seq` and `change_seq` are None until the message is numbered, as it is stored."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    type: MessageType
    content: str
    status: MessageStatus
    seq: int | None
    change_seq: int | None
    parent_message_id: uuid.UUID | None
    thread_id: uuid.UUID | None
    reply_count: int
    metadata: dict[str, Any]
    mentions: list[uuid.UUID]
    client_timestamp: datetime | None
    server_timestamp: datetime
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    optimistic_id: str | None


def new_message_record(
    conversation_id: uuid.UUID,
    sender: uuid.UUID,
    *,
    message_type: MessageType,
    content: str,
    metadata: dict[str, Any],
    mentions: list[uuid.UUID],
    now: datetime,
    client_timestamp: datetime | None = None,
    optimistic_id: str | None = None,
    parent_message_id: uuid.UUID | None = None,
    thread_id: uuid.UUID | None = None,
) -> NewMessageRecord:
    """The record of a new message, SENT, unnumbered, with a new id; the only place one
    is made."""
    return {
        "id": new_id(),
        "conversation_id": conversation_id,
        "sender_id": sender,
        "type": message_type,
        "content": content,
        "status": MessageStatus.SENT,
        "seq": None,
        "change_seq": None,
        "parent_message_id": parent_message_id,
        "thread_id": thread_id,
        "reply_count": 0,
        "metadata": metadata,
        "mentions": mentions,
        "client_timestamp": client_timestamp,
        "server_timestamp": now,
        "created_at": now,
        "updated_at": now,
        "edited_at": None,
        "deleted_at": None,
        "optimistic_id": optimistic_id,
    }


def message_of(record: NewMessageRecord) -> Message:
    """The ORM row of a numbered record (for writers that go through a session)."""
    fields: dict[str, Any] = dict(record)
    fields["metadata_"] = fields.pop("metadata")
    return Message(**fields)

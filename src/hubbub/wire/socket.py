"""Typed payloads of the client -> server events (docs/socket-protocol.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StrictInt

from hubbub.wire.fields import (
    InputModel,
)
from hubbub.wire.models import (
    OptimisticId,
    SendMessage,
)


class ConversationRef(InputModel):
    conversation_id: uuid.UUID


class MessageRef(InputModel):
    conversation_id: uuid.UUID
    message_id: uuid.UUID


class SendMessageEvent(SendMessage):
    conversation_id: uuid.UUID
    optimistic_id: OptimisticId  # required on the socket


class SyncRequest(InputModel):
    conversations: Annotated[
        dict[uuid.UUID, Annotated[StrictInt, Field(ge=0, le=2**62)]], Field(max_length=1000)
    ]
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 100


class PresenceQuery(InputModel):
    user_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)]


# Every client -> server event by name, with the model its payload must fit (the
# namespace's handlers; `tests/test_docs.py` checks that the two agree).
CLIENT_EVENTS: dict[str, type[InputModel]] = {
    "send_message": SendMessageEvent,
    "join_conversation": ConversationRef,
    "leave_conversation": ConversationRef,
    "typing": ConversationRef,
    "stop_typing": ConversationRef,
    "mark_as_read": MessageRef,
    "mark_as_delivered": MessageRef,
    "sync": SyncRequest,
    "get_presence": PresenceQuery,
}

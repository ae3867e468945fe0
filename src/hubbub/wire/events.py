"""Typed payloads of the server -> client Socket.IO events (docs/socket-protocol.md).

The events of `hubbub.events.catalog` and the answers the socket edge writes to one
socket (`connection_success`, `message_sent`, `message_error`, `exception`). They
describe the JSON each event carries; `hubbub.events.asyncapi` publishes their JSON
schemas, and the suite checks what a real server emits against them.
"""

from __future__ import annotations

import uuid
from typing import Literal

from hubbub.wire.fields import Timestamp, WireModel
from hubbub.wire.models import (
    ConversationPublic,
    MessagePublic,
    ParticipantPublic,
    UserPublic,
)


class ConnectionSuccessPayload(WireModel):
    user_id: uuid.UUID
    socket_id: str
    connection_time: float  # milliseconds of the server's handshake work
    server_time: Timestamp


class MessagePayload(WireModel):
    """`new_message`, `message_updated`, `message_deleted`."""

    message: MessagePublic
    conversation_id: uuid.UUID


class MessageSentPayload(WireModel):
    optimistic_id: str
    message: MessagePublic
    success: Literal[True]


class SocketError(WireModel):
    code: str
    message: str
    retry_after: float | None = None  # with rate_limited


class MessageErrorPayload(WireModel):
    optimistic_id: str | None
    success: Literal[False]
    error: SocketError


class ExceptionPayload(WireModel):
    event: str
    code: str
    message: str
    retry_after: float | None = None


class MessagesReadPayload(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    read_at: Timestamp


class MessagesDeliveredPayload(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    message_id: uuid.UUID
    seq: int


class UnreadCountPayload(WireModel):
    conversation_id: uuid.UUID
    unread_count: int
    total_unread: int  # over all the user's conversations
    unread_mentions: int  # unread messages of the conversation that mention the user


class NotificationPayload(WireModel):
    """A message the user's notification rules let interrupt them: what a browser
    notification shows (`title`, `body`: at most 140 characters of the text) and where
    a click leads (the conversation, at the message)."""

    conversation_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    title: str
    body: str
    mentioned: bool


class ConversationPayload(WireModel):
    """`conversation_created`, `conversation_updated`: the recipient's own view."""

    conversation: ConversationPublic


class ParticipantAddedPayload(WireModel):
    conversation_id: uuid.UUID
    participant: ParticipantPublic


class ParticipantRemovedPayload(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID


class UserPayload(WireModel):
    user: UserPublic


class UserOnlinePayload(WireModel):
    user_id: uuid.UUID
    at: Timestamp


class UserOfflinePayload(WireModel):
    user_id: uuid.UUID
    last_seen: Timestamp


class TypingPayload(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    username: str


class StopTypingPayload(WireModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID


# What the socket edge itself writes to one socket, by event name.
SOCKET_ANSWERS: dict[str, type[WireModel]] = {
    "connection_success": ConnectionSuccessPayload,
    "message_sent": MessageSentPayload,
    "message_error": MessageErrorPayload,
    "exception": ExceptionPayload,
}


class CommandReplyPayload(WireModel):
    """A slash command's answer shown to its caller only (docs/integrations.md)."""

    conversation_id: uuid.UUID
    event_id: uuid.UUID  # the command's event (`CommandAccepted.eventId` of the send)
    name: str
    content: str

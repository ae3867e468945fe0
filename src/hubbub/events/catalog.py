"""Every server -> client event: what a client can receive, who receives it, who sends it.

One class per event, with its wire name, its typed fields, its audience and its effect
on the hub's index. Actions register the events of a change on the unit of work
(`hubbub.store.unit.emit`) and the unit of work publishes them only after its commit;
the realtime layer publishes the events that no transaction stands behind (presence,
typing). The bus turns each into an `Envelope` (`envelope()`), encoded once.

Event (audience; sent by):

- new_message (the conversation but the sending socket; a send, a SYSTEM message)
- message_updated (the conversation; an edit, a reaction, a reply or a deleted reply
  to the message)
- message_deleted (the conversation; a delete)
- conversation_created (one user, with their own view; a new conversation, being added
  to a group, joining a space)
- conversation_updated (one user; a rename, settings, a participant's role or rights)
- participant_added (the conversation and the newcomer; adding, joining a space)
- participant_removed (the conversation and the one removed; removal, leaving)
- messages_read / messages_delivered (the conversation; a read or delivered marker)
- unread_count (one user; built by each node's unread coalescer for its own sockets
  after any change to the count: `hubbub.realtime.unread`)
- notification (one user; a new message their rules let interrupt them, from the
  notifier of the node that stored it: `hubbub.realtime.notifier`)
- command_reply (one user; a slash command's answer for its caller only, from the
  webhook worker: `hubbub.actions.webhook_worker`)
- user_updated (the user's contacts; a profile change)
- user_online / user_offline (the user's contacts; the socket edge's presence)
- typing / stop_typing (the conversation but the typist; the socket edge's typing)
- session_revoked (nobody: the session's sockets are cut; logout, refresh reuse)

The answers a socket gets to its own requests (`connection_success`, `message_sent`,
`message_error`, `exception` and every ack) are not events of this catalog: the socket
edge writes them to that one socket.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from hubbub.events.envelope import Audience, Effect, Envelope
from hubbub.wire.events import CommandReplyPayload, NotificationPayload
from hubbub.wire.fields import (
    iso_utc,
)
from hubbub.wire.models import (
    ConversationPublic,
    MessagePublic,
    ParticipantPublic,
    UserPublic,
)


class ServerEvent(Protocol):
    """A typed event; `envelope()` is what the bus carries."""

    name: ClassVar[str]

    def envelope(self) -> Envelope: ...


# Messages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewMessage:
    name: ClassVar[str] = "new_message"
    message: MessagePublic
    origin_socket: str | None = None  # the sender's socket hears `message_sent` instead

    def envelope(self) -> Envelope:
        return _message_envelope(self.name, self.message, exclude_socket=self.origin_socket)


@dataclass(frozen=True, slots=True)
class MessageUpdated:
    name: ClassVar[str] = "message_updated"
    message: MessagePublic

    def envelope(self) -> Envelope:
        return _message_envelope(self.name, self.message)


@dataclass(frozen=True, slots=True)
class MessageDeleted:
    name: ClassVar[str] = "message_deleted"
    message: MessagePublic

    def envelope(self) -> Envelope:
        return _message_envelope(self.name, self.message)


def _message_envelope(
    name: str, message: MessagePublic, *, exclude_socket: str | None = None
) -> Envelope:
    cid = message.conversation_id
    return Envelope(
        name=name,
        payload={"message": message.wire(), "conversationId": str(cid)},
        audience=Audience(conversation_id=cid, exclude_socket=exclude_socket),
    )


@dataclass(frozen=True, slots=True)
class MessagesRead:
    name: ClassVar[str] = "messages_read"
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    read_at: datetime

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={
                "conversationId": str(self.conversation_id),
                "userId": str(self.user_id),
                "messageId": str(self.message_id),
                "seq": self.seq,
                "readAt": iso_utc(self.read_at),
            },
            audience=Audience(conversation_id=self.conversation_id),
        )


@dataclass(frozen=True, slots=True)
class MessagesDelivered:
    name: ClassVar[str] = "messages_delivered"
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    message_id: uuid.UUID
    seq: int

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={
                "conversationId": str(self.conversation_id),
                "userId": str(self.user_id),
                "messageId": str(self.message_id),
                "seq": self.seq,
            },
            audience=Audience(conversation_id=self.conversation_id),
        )


@dataclass(frozen=True, slots=True)
class UnreadCount:
    name: ClassVar[str] = "unread_count"
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    count: int
    total: int  # the user's unread messages over all its conversations
    mentions: int = 0  # the unread messages of the conversation that mention the user

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={
                "conversationId": str(self.conversation_id),
                "unreadCount": self.count,
                "totalUnread": self.total,
                "unreadMentions": self.mentions,
            },
            audience=Audience(user_ids=(self.user_id,)),
        )


@dataclass(frozen=True, slots=True)
class Notification:
    """A message worth interrupting `user_id` for, under their rules: built after the
    send's commit by the notifier of the node that stored it (`hubbub.realtime.notifier`)."""

    name: ClassVar[str] = "notification"
    user_id: uuid.UUID
    notice: NotificationPayload  # the very JSON of a Web Push too

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name, payload=self.notice.wire(), audience=Audience(user_ids=(self.user_id,))
        )


@dataclass(frozen=True, slots=True)
class CommandReply:
    """A slash command's answer that its account asked to show to the caller only."""

    name: ClassVar[str] = "command_reply"
    user_id: uuid.UUID
    reply: CommandReplyPayload

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name, payload=self.reply.wire(), audience=Audience(user_ids=(self.user_id,))
        )


# Conversations and membership ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationCreated:
    """To one user, who joins the conversation's live events with it."""

    name: ClassVar[str] = "conversation_created"
    conversation: ConversationPublic
    user_id: uuid.UUID

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"conversation": self.conversation.wire()},
            audience=Audience(user_ids=(self.user_id,)),
            effect=Effect(conversation_id=self.conversation.id, joined=(self.user_id,)),
        )


@dataclass(frozen=True, slots=True)
class ConversationUpdated:
    name: ClassVar[str] = "conversation_updated"
    conversation: ConversationPublic
    user_id: uuid.UUID

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"conversation": self.conversation.wire()},
            audience=Audience(user_ids=(self.user_id,)),
        )


@dataclass(frozen=True, slots=True)
class ParticipantAdded:
    name: ClassVar[str] = "participant_added"
    conversation_id: uuid.UUID
    participant: ParticipantPublic

    def envelope(self) -> Envelope:
        user = self.participant.user_id
        return Envelope(
            name=self.name,
            payload={
                "conversationId": str(self.conversation_id),
                "participant": self.participant.wire(),
            },
            # The new participant hears of it even before its sockets listen.
            audience=Audience(conversation_id=self.conversation_id, user_ids=(user,)),
            effect=Effect(conversation_id=self.conversation_id, joined=(user,)),
        )


@dataclass(frozen=True, slots=True)
class ParticipantRemoved:
    name: ClassVar[str] = "participant_removed"
    conversation_id: uuid.UUID
    user_id: uuid.UUID

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"conversationId": str(self.conversation_id), "userId": str(self.user_id)},
            audience=Audience(conversation_id=self.conversation_id, user_ids=(self.user_id,)),
            effect=Effect(conversation_id=self.conversation_id, left=(self.user_id,)),
        )


# Users, presence, typing, sessions -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserUpdated:
    """To the user's contacts, and to `also_to` (a deleted account's former contacts,
    read before it left everything)."""

    name: ClassVar[str] = "user_updated"
    user: UserPublic
    also_to: tuple[uuid.UUID, ...] = ()

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"user": self.user.wire()},
            audience=Audience(contacts_of=self.user.id, user_ids=self.also_to),
        )


@dataclass(frozen=True, slots=True)
class UserOnline:
    name: ClassVar[str] = "user_online"
    user_id: uuid.UUID
    at: datetime

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"userId": str(self.user_id), "at": iso_utc(self.at)},
            audience=Audience(contacts_of=self.user_id),
        )


@dataclass(frozen=True, slots=True)
class UserOffline:
    name: ClassVar[str] = "user_offline"
    user_id: uuid.UUID
    last_seen: datetime

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"userId": str(self.user_id), "lastSeen": iso_utc(self.last_seen)},
            audience=Audience(contacts_of=self.user_id),
        )


@dataclass(frozen=True, slots=True)
class Typing:
    name: ClassVar[str] = "typing"
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    username: str

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={
                "conversationId": str(self.conversation_id),
                "userId": str(self.user_id),
                "username": self.username,
            },
            # The other participants: the typist's own sockets are left out on every node.
            audience=Audience(conversation_id=self.conversation_id, exclude_user=self.user_id),
        )


@dataclass(frozen=True, slots=True)
class StopTyping:
    name: ClassVar[str] = "stop_typing"
    conversation_id: uuid.UUID
    user_id: uuid.UUID

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={"conversationId": str(self.conversation_id), "userId": str(self.user_id)},
            audience=Audience(conversation_id=self.conversation_id, exclude_user=self.user_id),
        )


@dataclass(frozen=True, slots=True)
class AccountClosed:
    """Not sent to anyone: every socket of the user is disconnected, on every node (a
    deactivated account)."""

    name: ClassVar[str] = "account_closed"
    user_id: uuid.UUID

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={},
            audience=Audience(),
            effect=Effect(ended_user=self.user_id),
        )


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Not sent to anyone: every socket of the session is disconnected, on every node."""

    name: ClassVar[str] = "session_revoked"
    session_id: uuid.UUID

    def envelope(self) -> Envelope:
        return Envelope(
            name=self.name,
            payload={},
            audience=Audience(),
            effect=Effect(ended_session=self.session_id),
        )

"""The typed events an `AsyncClient` hands on (`client.events()`, `@client.on(...)`).

Each is the server's own wire payload (`hubbub.wire.events`), under a class of its own
so that a handler can be registered per kind. The three message events are what the
client's ordering makes of `new_message`, `message_updated` and `message_deleted` and of
`sync`: `NewMessage` comes exactly once per message, in `seq` order per conversation;
the changes after it come as `MessageUpdated` or `MessageDeleted`.
"""

from __future__ import annotations

from hubbub.wire.events import (
    ConnectionSuccessPayload,
    ConversationPayload,
    MessagePayload,
    MessagesDeliveredPayload,
    MessagesReadPayload,
    NotificationPayload,
    ParticipantAddedPayload,
    ParticipantRemovedPayload,
    StopTypingPayload,
    TypingPayload,
    UnreadCountPayload,
    UserOfflinePayload,
    UserOnlinePayload,
    UserPayload,
)
from hubbub.wire.fields import Timestamp, WireModel


class NewMessage(MessagePayload):
    """A message seen for the first time (in its latest form: edited, or even deleted,
    when it changed while the client was away)."""


class MessageUpdated(MessagePayload):
    """An edit, a reaction added or removed, a reply posted to or removed from its thread."""


class MessageDeleted(MessagePayload):
    """The message in its DELETED form."""


class MessagesRead(MessagesReadPayload):
    pass


class MessagesDelivered(MessagesDeliveredPayload):
    pass


class UnreadCount(UnreadCountPayload):
    pass


class Notification(NotificationPayload):
    """A message the user's notification rules let interrupt them (what a browser
    notification would show)."""


class ConversationCreated(ConversationPayload):
    pass


class ConversationUpdated(ConversationPayload):
    pass


class ParticipantAdded(ParticipantAddedPayload):
    pass


class ParticipantRemoved(ParticipantRemovedPayload):
    pass


class UserUpdated(UserPayload):
    pass


class UserOnline(UserOnlinePayload):
    pass


class UserOffline(UserOfflinePayload):
    pass


class Typing(TypingPayload):
    pass


class StopTyping(StopTypingPayload):
    pass


class Connected(ConnectionSuccessPayload):
    """The live connection is up (again) and every conversation has been resumed."""

    reconnect: bool  # False for the first connection of `connect()`


class Disconnected(WireModel):
    """The live connection was lost; the client is reconnecting."""

    reason: str


MessageEvent = NewMessage | MessageUpdated | MessageDeleted
Event = (
    MessageEvent
    | MessagesRead
    | MessagesDelivered
    | UnreadCount
    | Notification
    | ConversationCreated
    | ConversationUpdated
    | ParticipantAdded
    | ParticipantRemoved
    | UserUpdated
    | UserOnline
    | UserOffline
    | Typing
    | StopTyping
    | Connected
    | Disconnected
)

# The server events passed on as they come, by wire name (the message events go through
# the ordering; `connection_success`, `message_sent`, `message_error` and `exception`
# are the client's own business).
PASSED_ON: dict[str, type[WireModel]] = {
    "messages_read": MessagesRead,
    "messages_delivered": MessagesDelivered,
    "unread_count": UnreadCount,
    "notification": Notification,
    "conversation_created": ConversationCreated,
    "conversation_updated": ConversationUpdated,
    "participant_added": ParticipantAdded,
    "participant_removed": ParticipantRemoved,
    "user_updated": UserUpdated,
    "user_online": UserOnline,
    "user_offline": UserOffline,
    "typing": Typing,
    "stop_typing": StopTyping,
}

MESSAGE_EVENTS = ("new_message", "message_updated", "message_deleted")


class PresenceState(WireModel):
    """One user's entry in a `presence()` answer."""

    is_online: bool
    last_seen: Timestamp | None = None

"""hubbub.client: the Python SDK, a client of hubbub's wire protocol.

It sits beside the edge, on the other side of the wire: it speaks the HTTP API and the
Socket.IO protocol (docs/http-api.md, docs/socket-protocol.md) and imports from the
server only the typed wire models of `hubbub.wire`, never the edge, actions, queries or
store (an import-linter contract in pyproject.toml). `AsyncClient` is the asyncio SDK,
`Client` a blocking facade for scripts; docs/client.md says what they guarantee.
"""

from hubbub.client.blocking import Client
from hubbub.client.chat import Progress
from hubbub.client.client import AsyncClient
from hubbub.client.events import (
    Connected,
    ConversationCreated,
    ConversationUpdated,
    Disconnected,
    Event,
    MessageDeleted,
    MessagesDelivered,
    MessagesRead,
    MessageUpdated,
    NewMessage,
    Notification,
    ParticipantAdded,
    ParticipantRemoved,
    PresenceState,
    StopTyping,
    Typing,
    UnreadCount,
    UserOffline,
    UserOnline,
    UserUpdated,
)
from hubbub.client.link import Stats
from hubbub.client.session import CommandSent, HubbubError, NotLoggedIn
from hubbub.client.stream import EventStream

__all__ = [
    "AsyncClient",
    "Client",
    "CommandSent",
    "Connected",
    "ConversationCreated",
    "ConversationUpdated",
    "Disconnected",
    "Event",
    "EventStream",
    "HubbubError",
    "MessageDeleted",
    "MessageUpdated",
    "MessagesDelivered",
    "MessagesRead",
    "NewMessage",
    "NotLoggedIn",
    "Notification",
    "ParticipantAdded",
    "ParticipantRemoved",
    "PresenceState",
    "Progress",
    "Stats",
    "StopTyping",
    "Typing",
    "UnreadCount",
    "UserOffline",
    "UserOnline",
    "UserUpdated",
]

"""What the terminal client knows, kept apart from how it is drawn: the conversations
with their unread counts, who is typing and who is online, and the loaded history of
each conversation opened, in `seq` order.

The SDK hands every message on exactly once and in order (docs/client.md); this state
still files messages by id and `seq`, so that a page of history loaded while live
messages arrive cannot show one twice or out of place.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field

from hubbub.client import (
    ConversationCreated,
    ConversationUpdated,
    Event,
    MessageDeleted,
    MessageUpdated,
    NewMessage,
    ParticipantRemoved,
    StopTyping,
    Typing,
    UnreadCount,
    UserOffline,
    UserOnline,
)
from hubbub.wire.models import ConversationPublic, MessagePublic


@dataclass
class Room:
    """One conversation as the client shows it."""

    conversation: ConversationPublic
    unread: int
    typing: dict[uuid.UUID, str] = field(default_factory=dict)  # user id: username
    messages: list[MessagePublic] = field(default_factory=list)  # loaded, in seq order
    loaded: bool = False  # whether its newest page was loaded
    has_older: bool = False

    def place(self, message: MessagePublic) -> bool:
        """File a message by `seq` (replacing it when known); whether it is new here."""
        seqs = [m.seq for m in self.messages]
        at = bisect.bisect_left(seqs, message.seq)
        if at < len(self.messages) and self.messages[at].id == message.id:
            self.messages[at] = message
            return False
        self.messages.insert(at, message)
        return True

    def older(self, page: list[MessagePublic], has_more: bool) -> None:
        for message in page:
            self.place(message)
        self.has_older = has_more

    def find(self, message_id: uuid.UUID) -> MessagePublic | None:
        return next((m for m in self.messages if m.id == message_id), None)


class ChatState:
    def __init__(self, me: uuid.UUID) -> None:
        self.me = me
        self.rooms: dict[uuid.UUID, Room] = {}
        self.online: set[uuid.UUID] = set()
        self.names: dict[uuid.UUID, str] = {}  # user id: the name shown
        self.connected = False

    def add(self, conversation: ConversationPublic) -> Room:
        room = self.rooms.get(conversation.id)
        if room is None:
            room = self.rooms[conversation.id] = Room(conversation, conversation.unread_count)
        else:
            room.conversation = conversation
        for participant in conversation.participants:
            user = participant.user
            self.names[user.id] = user.display_name or user.username
            if user.is_online and user.id != self.me:
                self.online.add(user.id)
        return room

    def ordered(self) -> list[Room]:
        """Latest activity first."""
        return sorted(
            self.rooms.values(), key=lambda r: r.conversation.last_message_at, reverse=True
        )

    def title(self, room: Room) -> str:
        conversation = room.conversation
        if conversation.name:
            return conversation.name
        others = [p.user_id for p in conversation.participants if p.user_id != self.me]
        return ", ".join(self.names.get(u, "?") for u in others) or "(just you)"

    def online_in(self, room: Room) -> list[str]:
        ids = [p.user_id for p in room.conversation.participants if p.user_id in self.online]
        return [self.names.get(u, "?") for u in ids]

    def sender(self, message: MessagePublic) -> str:
        if message.sender is not None:
            return message.sender.display_name or message.sender.username
        return self.names.get(message.sender_id, "system")

    def apply(self, event: Event) -> uuid.UUID | None:
        """Take an event in; the conversation it changed, if any (else the list or the
        people changed)."""
        if isinstance(event, NewMessage | MessageUpdated | MessageDeleted):
            room = self.rooms.get(event.conversation_id)
            if room is None:
                return None
            message = event.message
            if isinstance(event, NewMessage):
                room.conversation.last_message_at = max(
                    room.conversation.last_message_at, message.created_at
                )
                room.typing.pop(message.sender_id, None)
            if room.loaded and (isinstance(event, NewMessage) or room.find(message.id)):
                room.place(message)
            return room.conversation.id
        if isinstance(event, UnreadCount):
            if (room := self.rooms.get(event.conversation_id)) is not None:
                room.unread = event.unread_count
            return None
        if isinstance(event, ConversationCreated | ConversationUpdated):
            self.add(event.conversation)
            return event.conversation.id
        if isinstance(event, Typing | StopTyping):
            room = self.rooms.get(event.conversation_id)
            if room is None or event.user_id == self.me:
                return None
            if isinstance(event, Typing):
                room.typing[event.user_id] = event.username
            else:
                room.typing.pop(event.user_id, None)
            return room.conversation.id
        if isinstance(event, ParticipantRemoved) and event.user_id == self.me:
            self.rooms.pop(event.conversation_id, None)  # left, or removed
            return event.conversation_id
        if isinstance(event, UserOnline) and event.user_id != self.me:
            self.online.add(event.user_id)
        elif isinstance(event, UserOffline):
            self.online.discard(event.user_id)
        return None

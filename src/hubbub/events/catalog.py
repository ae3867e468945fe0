"""The server -> client events services publish after commit (PROTOCOL.md, events).

Each builder returns an `Event` whose payload is the exact wire payload and whose
audience says who receives it: a conversation's participants (`conversation_id`),
given users (`user_ids`), or a user's contacts (`contacts_of`). Services collect
events while their transaction runs and publish them only once it has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from hubbub.realtime.bus import Event, EventBus
from hubbub.wire.models import ConversationPublic, MessagePublic, ParticipantPublic, _iso_utc


def new_message(message: MessagePublic, origin_socket: str | None) -> Event:
    return Event(
        name="new_message",
        payload={"message": message.wire(), "conversationId": str(message.conversation_id)},
        conversation_id=message.conversation_id,
        exclude_socket=origin_socket,
    )


def message_updated(message: MessagePublic) -> Event:
    return Event(
        name="message_updated",
        payload={"message": message.wire(), "conversationId": str(message.conversation_id)},
        conversation_id=message.conversation_id,
    )


def message_deleted(message: MessagePublic) -> Event:
    return Event(
        name="message_deleted",
        payload={"message": message.wire(), "conversationId": str(message.conversation_id)},
        conversation_id=message.conversation_id,
    )


def conversation_created(view: ConversationPublic, user_id: uuid.UUID) -> Event:
    # Per user: the view carries the receiver's own role, unread count and settings.
    return Event(
        name="conversation_created", payload={"conversation": view.wire()}, user_ids=(user_id,)
    )


def conversation_updated(view: ConversationPublic, user_id: uuid.UUID) -> Event:
    return Event(
        name="conversation_updated", payload={"conversation": view.wire()}, user_ids=(user_id,)
    )


def participant_added(conversation_id: uuid.UUID, participant: ParticipantPublic) -> Event:
    return Event(
        name="participant_added",
        payload={"conversationId": str(conversation_id), "participant": participant.wire()},
        conversation_id=conversation_id,
        # The new participant hears of it even before its sockets join the conversation.
        user_ids=(participant.user_id,),
    )


def participant_removed(conversation_id: uuid.UUID, user_id: uuid.UUID) -> Event:
    return Event(
        name="participant_removed",
        payload={"conversationId": str(conversation_id), "userId": str(user_id)},
        conversation_id=conversation_id,
        user_ids=(user_id,),
    )


def messages_read(
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    message_id: uuid.UUID,
    seq: int,
    read_at: datetime,
) -> Event:
    return Event(
        name="messages_read",
        payload={
            "conversationId": str(conversation_id),
            "userId": str(user_id),
            "messageId": str(message_id),
            "seq": seq,
            "readAt": _iso_utc(read_at),
        },
        conversation_id=conversation_id,
    )


def messages_delivered(
    conversation_id: uuid.UUID, user_id: uuid.UUID, message_id: uuid.UUID, seq: int
) -> Event:
    return Event(
        name="messages_delivered",
        payload={
            "conversationId": str(conversation_id),
            "userId": str(user_id),
            "messageId": str(message_id),
            "seq": seq,
        },
        conversation_id=conversation_id,
    )


def unread_count(conversation_id: uuid.UUID, user_id: uuid.UUID, count: int) -> Event:
    return Event(
        name="unread_count",
        payload={"conversationId": str(conversation_id), "unreadCount": count},
        user_ids=(user_id,),
    )


async def publish_all(bus: EventBus, events: Iterable[Event]) -> None:
    for event in events:
        await bus.publish(event)

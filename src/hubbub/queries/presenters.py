"""Presenters: stored rows (and new-message records) into wire models (docs/http-api.md, Objects).

Pure functions, no I/O: the loaders of `hubbub.queries.views` fetch a page's rows from
the store and hand them here; the send paths (`hubbub.actions.send_alone`,
`hubbub.actions.send_batch`) present a message they just wrote from its record
(`fresh_message_view`), with no query at all.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from hubbub.domain.enums import MessageStatus
from hubbub.domain.ids import utcnow
from hubbub.domain.notify_rules import notifications_on
from hubbub.queries.users import user_public
from hubbub.security.urls import FileUrlSigner
from hubbub.store.access import SenderAccess
from hubbub.store.conversation_page import ShownConversation, ShownMembership
from hubbub.store.models import Message, Participant, StoredFile, User
from hubbub.store.new_message import NewMessageRecord
from hubbub.wire.fields import iso_utc
from hubbub.wire.models import (
    AttachmentPublic,
    ConversationPublic,
    MessagePublic,
    ParticipantPublic,
    ReactionPublic,
    SenderPublic,
)


def attachment_public(stored: StoredFile, urls: FileUrlSigner) -> AttachmentPublic:
    return AttachmentPublic(
        id=stored.id,
        url=urls.url(stored.id, stored.filename),
        filename=stored.filename,
        size=stored.size,
        mime_type=stored.mime_type,
        width=stored.width,
        height=stored.height,
        thumbnail_url=(
            urls.url(stored.id, stored.filename, thumbnail=True) if stored.thumbnail_key else None
        ),
    )


def sender_view(access: SenderAccess, urls: FileUrlSigner) -> SenderPublic:
    """The sender of a send, from what the send read of them, with their avatar's URL."""
    if access.avatar_file_id is None:
        return access.sender
    return access.sender.model_copy(update={"avatar": urls.avatar_url(access.avatar_file_id)})


def fresh_message_view(
    record: NewMessageRecord, sender: SenderPublic, attachments: list[AttachmentPublic]
) -> MessagePublic:
    """The view of a message just written, from its record: SENT, no reactions (and
    nobody else has read it). (Validated: pydantic's compiled validator takes a third of
    the time `model_construct`'s Python loop does.)"""
    return MessagePublic.model_validate(
        {
            "id": record["id"],
            "conversation_id": record["conversation_id"],
            "sender_id": record["sender_id"],
            "sender": sender,
            "type": record["type"],
            "content": record["content"],
            "status": MessageStatus.SENT,
            "seq": record["seq"],
            "change_seq": record["change_seq"],
            "parent_message_id": record["parent_message_id"],
            "thread_id": record["thread_id"],
            "reply_count": record["reply_count"],
            "attachments": attachments,
            "metadata": record["metadata"],
            "mentions": record["mentions"],
            "reactions": [],
            "client_timestamp": record["client_timestamp"],
            "server_timestamp": record["server_timestamp"],
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "edited_at": record["edited_at"],
            "deleted_at": record["deleted_at"],
            "optimistic_id": record["optimistic_id"],
        }
    )


def message_public(
    m: Message,
    sender: SenderPublic | None,
    attachments: list[AttachmentPublic],
    reactions: list[ReactionPublic],
    status: MessageStatus,
) -> MessagePublic:
    """A stored message as its viewer sees it (`status`: SENT / DELIVERED / READ for
    their own messages); a deleted one keeps its place and loses its content."""
    deleted = m.deleted_at is not None
    return MessagePublic(
        id=m.id,
        conversation_id=m.conversation_id,
        sender_id=m.sender_id,
        sender=sender,
        type=m.type,
        content="" if deleted else m.content,
        status=MessageStatus.DELETED if deleted else status,
        seq=m.seq,
        change_seq=m.change_seq,
        parent_message_id=m.parent_message_id,
        thread_id=m.thread_id,
        reply_count=m.reply_count,
        attachments=[] if deleted else attachments,
        metadata={} if deleted else m.metadata_,
        mentions=[] if deleted else m.mentions,
        reactions=[] if deleted else reactions,
        client_timestamp=m.client_timestamp,
        server_timestamp=m.server_timestamp,
        created_at=m.created_at,
        updated_at=m.updated_at,
        edited_at=m.edited_at,
        deleted_at=m.deleted_at,
        optimistic_id=m.optimistic_id,
    )


def reactions_public(
    rows: Iterable[tuple[uuid.UUID, str, uuid.UUID]],
) -> dict[uuid.UUID, list[ReactionPublic]]:
    """(message id, emoji, user id) rows, oldest first, as each message's reactions:
    one per emoji, in the order each emoji was first used."""
    grouped: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = defaultdict(dict)
    for message_id, emoji, user_id in rows:
        grouped[message_id].setdefault(emoji, []).append(user_id)
    return {
        mid: [ReactionPublic(emoji=e, count=len(u), user_ids=u) for e, u in by_emoji.items()]
        for mid, by_emoji in grouped.items()
    }


def own_message_statuses(
    own: Sequence[Message], lows: dict[uuid.UUID, tuple[int, int]]
) -> dict[uuid.UUID, MessageStatus]:
    """SENT / DELIVERED / READ of the viewer's own messages, from the lowest (read,
    delivered) markers of the others in each conversation (SENT: left out)."""
    statuses: dict[uuid.UUID, MessageStatus] = {}
    for m in own:
        if m.conversation_id not in lows:
            continue  # nobody else is there: it stays SENT
        status = own_status(m.seq, *lows[m.conversation_id])
        if status is not None:
            statuses[m.id] = status
    return statuses


def own_status(seq: int, read: int, delivered: int) -> MessageStatus | None:
    """The viewer's own message numbered `seq`, given the others' lowest read and
    delivered markers: READ once every other has read it, DELIVERED once every other has
    it, None (SENT) before."""
    if read >= seq:
        return MessageStatus.READ
    if max(read, delivered) >= seq:
        return MessageStatus.DELIVERED
    return None


def participant_public(
    p: Participant, user: User, *, online: bool | None, urls: FileUrlSigner
) -> ParticipantPublic:
    return ParticipantPublic(
        user_id=p.user_id,
        user=user_public(user, online=online, urls=urls),
        role=p.role,
        status=p.status,
        joined_at=p.joined_at,
        last_read_at=p.last_read_at,
        last_read_message_id=p.last_read_message_id,
        last_read_seq=p.last_read_seq,
        can_send_messages=p.can_send_messages,
        can_upload_files=p.can_upload_files,
        can_add_members=p.can_add_members,
        can_remove_members=p.can_remove_members,
        notifications_enabled=notifications_on(p.notify_level, p.muted_until, utcnow()),
    )


def conversation_public(
    c: ShownConversation,
    me: ShownMembership,
    *,
    urls: FileUrlSigner,
    last_message: MessagePublic | None,
    participants: list[ParticipantPublic],
    participant_count: int,
    unread_count: int,
    unread_mentions: int = 0,
) -> ConversationPublic:
    return ConversationPublic(
        id=c.id,
        type=c.type,
        name=c.name,
        description=c.description,
        avatar=urls.avatar_url(c.avatar_file_id),
        space_id=c.space_id,
        is_archived=me.is_archived,
        created_by=c.created_by,
        created_at=c.created_at,
        updated_at=c.updated_at,
        last_message_at=c.last_message_at,
        last_message=last_message,
        last_seq=c.last_seq,
        participants=participants,
        participant_count=participant_count,
        unread_count=unread_count,
        unread_mentions=unread_mentions,
        my_role=me.role,
        notifications_enabled=notifications_on(me.notify_level, me.muted_until, utcnow()),
        notification_level=me.notify_level,
        muted_until=me.muted_until,
    )


def conversation_json(
    c: ShownConversation,
    me: ShownMembership,
    *,
    urls: FileUrlSigner,
    last_message: dict[str, Any] | None,
    participants: list[dict[str, Any]],
    participant_count: int,
    unread_count: int,
    unread_mentions: int,
) -> dict[str, Any]:
    """`conversation_public(...).wire()`, key for key and in its order, made without the
    model: `last_message` and `participants` are JSON already (a list page's, made from
    rows by `hubbub.wire.message_json` and `hubbub.queries.participant_rows`).
    `tests/test_participant_rows.py` holds a listed conversation to the one alone."""
    return {
        "id": str(c.id),
        "type": c.type,  # a StrEnum member is its text
        "name": c.name,
        "description": c.description,
        "avatar": urls.avatar_url(c.avatar_file_id),
        "spaceId": None if c.space_id is None else str(c.space_id),
        "isArchived": me.is_archived,
        "createdBy": None if c.created_by is None else str(c.created_by),
        "createdAt": iso_utc(c.created_at),
        "updatedAt": iso_utc(c.updated_at),
        "lastMessageAt": iso_utc(c.last_message_at),
        "lastMessage": last_message,
        "lastSeq": c.last_seq,
        "participants": participants,
        "participantCount": participant_count,
        "unreadCount": unread_count,
        "unreadMentions": unread_mentions,
        "myRole": me.role,
        "notificationsEnabled": notifications_on(me.notify_level, me.muted_until, utcnow()),
        "notificationLevel": me.notify_level,
        "mutedUntil": None if me.muted_until is None else iso_utc(me.muted_until),
    }

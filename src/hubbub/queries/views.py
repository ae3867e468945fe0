"""Turning stored rows into wire models (API.md, Objects), in batches.

Services call these after their queries; each loader takes a page of rows and fetches
what they reference (senders, attachments, reactions, participants, unread counts) in
one query per kind, never one per row.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageStatus, MessageType, ParticipantStatus
from hubbub.queries.users import sender_public, user_public
from hubbub.realtime.presence import Presence
from hubbub.security.urls import FileUrlSigner
from hubbub.store.models import (
    Conversation,
    Message,
    MessageFile,
    Participant,
    Reaction,
    StoredFile,
    User,
)
from hubbub.wire.models import (
    AttachmentPublic,
    ConversationPublic,
    MessagePublic,
    ParticipantPublic,
    ReactionPublic,
    SenderPublic,
)

# Conversation lists and events carry at most this many participants each;
# `participantCount` is always the full number, GET /conversations/:id has them all.
LIST_PARTICIPANTS = 50


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


def unread_condition(participant_user: uuid.UUID | Any) -> list[ColumnElement[bool]]:
    """What counts as unread for a participant (DATA.md, "Read markers, not counters")."""
    return [
        Message.sender_id != participant_user,
        Message.type != MessageType.SYSTEM,
        Message.deleted_at.is_(None),
    ]


def _unread_after_marker(user: uuid.UUID | Any) -> ScalarSelect[int]:
    # Correlated per participant row: always an index range scan on (conversation_id, seq)
    # from the marker on, whatever the planner thinks of joining whole conversations.
    return (
        select(func.count(Message.id))
        .where(Message.conversation_id == Participant.conversation_id)
        .where(Message.seq > Participant.last_read_seq)
        .where(*unread_condition(user))
        .correlate(Participant)
        .scalar_subquery()
    )


async def unread_counts(
    session: AsyncSession, user_id: uuid.UUID, conversation_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The caller's unread count per conversation, from its read markers, in one query."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Participant.conversation_id, _unread_after_marker(user_id))
        .where(Participant.user_id == user_id)
        .where(Participant.conversation_id.in_(ids))
    )
    counts: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    for cid, count in rows.all():
        counts[cid] = int(count)
    return counts


async def unread_counts_of_everyone(
    session: AsyncSession, conversation_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Every ACTIVE participant's unread count in one conversation, in one query."""
    rows = await session.execute(
        select(Participant.user_id, _unread_after_marker(Participant.user_id))
        .where(Participant.conversation_id == conversation_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    return {uid: int(count) for uid, count in rows.all()}


def fresh_message_view(
    row: dict[str, Any], sender: SenderPublic, attachments: list[AttachmentPublic]
) -> MessagePublic:
    """The view of a message just written, from its `messages` row (by column name):
    SENT, no reactions. (Validated: pydantic's compiled validator takes a third of the
    time `model_construct`'s Python loop does.)"""
    return MessagePublic.model_validate(
        {
            "id": row["id"],
            "conversation_id": row["conversation_id"],
            "sender_id": row["sender_id"],
            "sender": sender,
            "type": row["type"],
            "content": row["content"],
            "status": MessageStatus.SENT,
            "seq": row["seq"],
            "change_seq": row["change_seq"],
            "parent_message_id": row["parent_message_id"],
            "thread_id": row["thread_id"],
            "reply_count": row["reply_count"],
            "attachments": attachments,
            "metadata": row["metadata"],
            "mentions": row["mentions"],
            "reactions": [],
            "client_timestamp": row["client_timestamp"],
            "server_timestamp": row["server_timestamp"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "edited_at": row["edited_at"],
            "deleted_at": row["deleted_at"],
            "optimistic_id": row["optimistic_id"],
        }
    )


@dataclass
class Views:
    """Batch loaders for one request; `urls` signs attachment links."""

    urls: FileUrlSigner
    presence: Presence

    async def messages(
        self, session: AsyncSession, rows: Sequence[Message], viewer: uuid.UUID | None
    ) -> list[MessagePublic]:
        if not rows:
            return []
        live_ids = [m.id for m in rows if m.deleted_at is None]
        senders = {
            u.id: u
            for u in (
                await session.scalars(select(User).where(User.id.in_({m.sender_id for m in rows})))
            ).all()
        }
        attachments: dict[uuid.UUID, list[AttachmentPublic]] = defaultdict(list)
        if live_ids:
            file_rows = await session.execute(
                select(MessageFile.message_id, StoredFile)
                .join(StoredFile, StoredFile.id == MessageFile.file_id)
                .where(MessageFile.message_id.in_(live_ids))
                .order_by(MessageFile.message_id, MessageFile.position)
            )
            for message_id, stored in file_rows.all():
                attachments[message_id].append(attachment_public(stored, self.urls))
        reactions = await self.reactions(session, live_ids)
        statuses = await self._sender_statuses(session, rows, viewer)
        return [
            self._message(m, senders.get(m.sender_id), attachments, reactions, statuses)
            for m in rows
        ]

    def _message(
        self,
        m: Message,
        sender: User | None,
        attachments: dict[uuid.UUID, list[AttachmentPublic]],
        reactions: dict[uuid.UUID, list[ReactionPublic]],
        statuses: dict[uuid.UUID, MessageStatus],
    ) -> MessagePublic:
        deleted = m.deleted_at is not None
        return MessagePublic(
            id=m.id,
            conversation_id=m.conversation_id,
            sender_id=m.sender_id,
            sender=sender_public(sender) if sender else None,
            type=m.type,
            content="" if deleted else m.content,
            status=MessageStatus.DELETED if deleted else statuses.get(m.id, MessageStatus.SENT),
            seq=m.seq,
            change_seq=m.change_seq,
            parent_message_id=m.parent_message_id,
            thread_id=m.thread_id,
            reply_count=m.reply_count,
            attachments=[] if deleted else attachments.get(m.id, []),
            metadata={} if deleted else m.metadata_,
            mentions=[] if deleted else m.mentions,
            reactions=[] if deleted else reactions.get(m.id, []),
            client_timestamp=m.client_timestamp,
            server_timestamp=m.server_timestamp,
            created_at=m.created_at,
            updated_at=m.updated_at,
            edited_at=m.edited_at,
            deleted_at=m.deleted_at,
            optimistic_id=m.optimistic_id,
        )

    def new_message(
        self, message: Message, sender: User | None, files: Sequence[StoredFile]
    ) -> MessagePublic:
        """The view of a message just written: no reactions, SENT, its files in order."""
        return self._message(
            message,
            sender,
            {message.id: [attachment_public(f, self.urls) for f in files]},
            {},
            {},
        )

    async def reactions(
        self, session: AsyncSession, message_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, list[ReactionPublic]]:
        ids = list(message_ids)
        if not ids:
            return {}
        rows = await session.execute(
            select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
            .where(Reaction.message_id.in_(ids))
            .order_by(Reaction.created_at, Reaction.id)
        )
        grouped: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = defaultdict(dict)
        for message_id, emoji, user_id in rows.all():
            grouped[message_id].setdefault(emoji, []).append(user_id)
        return {
            mid: [ReactionPublic(emoji=e, count=len(u), user_ids=u) for e, u in by_emoji.items()]
            for mid, by_emoji in grouped.items()
        }

    async def _sender_statuses(
        self, session: AsyncSession, rows: Sequence[Message], viewer: uuid.UUID | None
    ) -> dict[uuid.UUID, MessageStatus]:
        """SENT / DELIVERED / READ for the viewer's own messages, derived from markers."""
        own = [m for m in rows if viewer is not None and m.sender_id == viewer]
        if not own:
            return {}
        conversation_ids = {m.conversation_id for m in own}
        marks = await session.execute(
            select(
                Participant.conversation_id,
                func.min(Participant.last_read_seq),
                func.min(Participant.last_delivered_seq),
            )
            .where(Participant.conversation_id.in_(conversation_ids))
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .where(Participant.user_id != viewer)
            .group_by(Participant.conversation_id)
        )
        lows = {cid: (int(r), int(d)) for cid, r, d in marks.all()}
        statuses: dict[uuid.UUID, MessageStatus] = {}
        for m in own:
            if m.conversation_id not in lows:
                continue  # nobody else is there: it stays SENT
            read, delivered = lows[m.conversation_id]
            if read >= m.seq:
                statuses[m.id] = MessageStatus.READ
            elif max(read, delivered) >= m.seq:
                statuses[m.id] = MessageStatus.DELIVERED
        return statuses

    async def participants(
        self,
        session: AsyncSession,
        conversation_ids: Sequence[uuid.UUID],
        *,
        per_conversation: int | None,
    ) -> tuple[dict[uuid.UUID, list[ParticipantPublic]], dict[uuid.UUID, int]]:
        """ACTIVE participants per conversation (the first `per_conversation` by join
        order, or all), and the full count of each."""
        if not conversation_ids:
            return {}, {}
        counts = dict.fromkeys(conversation_ids, 0)
        for cid, count in (
            await session.execute(
                select(Participant.conversation_id, func.count())
                .where(Participant.conversation_id.in_(conversation_ids))
                .where(Participant.status == ParticipantStatus.ACTIVE)
                .group_by(Participant.conversation_id)
            )
        ).all():
            counts[cid] = int(count)
        # Columns, not entities: a page of 100 conversations carries thousands of
        # participant rows but few distinct users, so each user is loaded and made into
        # its view once (ORM entities per row were most of a conversation list's time).
        ranked = (
            select(
                *_PARTICIPANT_VIEW_COLUMNS,
                func.row_number()
                .over(
                    partition_by=Participant.conversation_id,
                    order_by=(Participant.joined_at, Participant.id),
                )
                .label("rank"),
            )
            .where(Participant.conversation_id.in_(conversation_ids))
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .subquery()
        )
        query = select(*(ranked.c[c.key] for c in _PARTICIPANT_VIEW_COLUMNS))
        if per_conversation is not None:
            query = query.where(ranked.c.rank <= per_conversation)
        query = query.order_by(ranked.c.conversation_id, ranked.c.rank)
        rows = (await session.execute(query)).all()
        user_ids = {row.user_id for row in rows}
        users = (
            (await session.scalars(select(User).where(User.id.in_(user_ids)))).all()
            if user_ids
            else []
        )
        online = await self.presence.online(user_ids)
        user_views = {u.id: user_public(u, online=u.id in online) for u in users}
        result: dict[uuid.UUID, list[ParticipantPublic]] = {cid: [] for cid in conversation_ids}
        for row in rows:
            fields = row._asdict()
            conversation_id = fields.pop("conversation_id")
            user = user_views.get(row.user_id)
            if user is not None:  # deleted between the two statements: left out
                result[conversation_id].append(ParticipantPublic(user=user, **fields))
        return result, counts

    async def conversations(
        self,
        session: AsyncSession,
        pairs: Sequence[tuple[Conversation, Participant]],
        viewer: uuid.UUID,
        *,
        all_participants: bool = False,
    ) -> list[ConversationPublic]:
        if not pairs:
            return []
        ids = [c.id for c, _ in pairs]
        participants, counts = await self.participants(
            session, ids, per_conversation=None if all_participants else LIST_PARTICIPANTS
        )
        unread = await unread_counts(session, viewer, ids)
        last_ids = [c.last_message_id for c, _ in pairs if c.last_message_id is not None]
        last_rows = (
            (await session.scalars(select(Message).where(Message.id.in_(last_ids)))).all()
            if last_ids
            else []
        )
        last = {m.id: m for m in await self.messages(session, last_rows, viewer)}
        return [
            conversation_public(
                c,
                me,
                last_message=last.get(c.last_message_id) if c.last_message_id else None,
                participants=participants.get(c.id, []),
                participant_count=counts.get(c.id, 0),
                unread_count=unread.get(c.id, 0),
            )
            for c, me in pairs
        ]


# What a participant's view needs of its row (`participant_public`'s fields but `user`).
_PARTICIPANT_VIEW_COLUMNS = (
    Participant.conversation_id,
    Participant.user_id,
    Participant.role,
    Participant.status,
    Participant.joined_at,
    Participant.last_read_at,
    Participant.last_read_message_id,
    Participant.last_read_seq,
    Participant.can_send_messages,
    Participant.can_upload_files,
    Participant.can_add_members,
    Participant.can_remove_members,
    Participant.notifications_enabled,
)


def participant_public(p: Participant, user: User, *, online: bool) -> ParticipantPublic:
    return ParticipantPublic(
        user_id=p.user_id,
        user=user_public(user, online=online),
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
        notifications_enabled=p.notifications_enabled,
    )


def conversation_public(
    c: Conversation,
    me: Participant,
    *,
    last_message: MessagePublic | None,
    participants: list[ParticipantPublic],
    participant_count: int,
    unread_count: int,
) -> ConversationPublic:
    return ConversationPublic(
        id=c.id,
        type=c.type,
        name=c.name,
        description=c.description,
        avatar=c.avatar,
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
        my_role=me.role,
        notifications_enabled=me.notifications_enabled,
    )

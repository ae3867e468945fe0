"""Loaders of views: a page of stored rows into wire models, in batches.

Queries and actions -> here -> the store's loaders (`hubbub.store.messages_read`,
`hubbub.store.markers`) and the presenters (`hubbub.queries.presenters`). Each loader
takes a page of rows and fetches what they reference (senders, attachments, reactions,
participants, unread counts) in one query per kind, never one per row.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import MessageStatus, ParticipantStatus
from hubbub.queries.last_messages import last_message_json, last_message_views
from hubbub.queries.participant_rows import ShownParticipants
from hubbub.queries.presenters import (
    attachment_public,
    conversation_json,
    conversation_public,
    message_public,
    own_message_statuses,
    reactions_public,
)
from hubbub.queries.users import sender_public, shown_online, user_public
from hubbub.realtime.presence import Presence
from hubbub.security.urls import FileUrlSigner
from hubbub.store.conversation_page import ShownConversation, ShownMembership
from hubbub.store.markers import lowest_markers_txn
from hubbub.store.messages_read import (
    attachments_txn,
    reactions_txn,
    senders_txn,
)
from hubbub.store.models import Conversation, Message, Participant
from hubbub.store.view_reads import ViewReads
from hubbub.wire.models import (
    AttachmentPublic,
    ConversationPublic,
    MessagePublic,
)

# Conversation lists and events carry at most this many participants each;
# `participantCount` is always the full number, GET /conversations/:id has them all.
LIST_PARTICIPANTS = 50


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
            uid: sender_public(user, self.urls)
            for uid, user in (await senders_txn(session, {m.sender_id for m in rows})).items()
        }
        attachments: dict[uuid.UUID, list[AttachmentPublic]] = defaultdict(list)
        if live_ids:
            for message_id, stored in await attachments_txn(session, live_ids):
                attachments[message_id].append(attachment_public(stored, self.urls))
        reactions = reactions_public(await reactions_txn(session, live_ids))
        statuses = await self._sender_statuses(session, rows, viewer)
        return [
            message_public(
                m,
                senders.get(m.sender_id),
                attachments.get(m.id, []),
                reactions.get(m.id, []),
                statuses.get(m.id, MessageStatus.SENT),
            )
            for m in rows
        ]

    async def _sender_statuses(
        self, session: AsyncSession, rows: Sequence[Message], viewer: uuid.UUID | None
    ) -> dict[uuid.UUID, MessageStatus]:
        """SENT / DELIVERED / READ for the viewer's own messages, derived from markers."""
        if viewer is None:
            return {}
        own = [m for m in rows if m.sender_id == viewer]
        if not own:
            return {}
        lows = await lowest_markers_txn(session, {m.conversation_id for m in own}, viewer)
        return own_message_statuses(own, lows)

    async def participants(
        self,
        reads: ViewReads,
        conversation_ids: Sequence[uuid.UUID],
        *,
        per_conversation: int | None,
        viewer: uuid.UUID,
        shared: Collection[uuid.UUID],
    ) -> tuple[ShownParticipants, dict[uuid.UUID, int]]:
        """ACTIVE participants per conversation (the first `per_conversation` by join
        order, or all), and the full count of each. Their presence is shown to `viewer`
        as `hubbub.domain.rules.sees_presence` says: the participants of the `shared`
        conversations (those the viewer is ACTIVE in) are the viewer's contacts."""
        counts = await reads.participant_counts(conversation_ids)
        # Columns, not entities: a page of 100 conversations carries thousands of
        # participant rows but few distinct users, so each user is loaded and made into
        # its view once (ORM entities per row were most of a conversation list's time).
        rows = await reads.participants(
            conversation_ids, per_conversation=per_conversation, counts=counts
        )
        shown = ShownParticipants(conversation_ids, rows, {})
        user_ids = shown.user_ids()
        online = await self.presence.online(user_ids)
        contacts = shown.members_of(shared)
        shown.users = {
            u.id: user_public(
                u, online=shown_online(viewer, u.id, contacts, online), urls=self.urls
            )
            for u in await reads.users(user_ids)
        }
        return shown, counts

    async def conversations(
        self,
        session: AsyncSession,
        pairs: Sequence[tuple[Conversation, Participant]],
        viewer: uuid.UUID,
        *,
        all_participants: bool = False,
    ) -> list[ConversationPublic]:
        """Views of stored conversations, each with the viewer's participant row."""
        if not pairs:
            return []
        shown_pairs = [(ShownConversation.of(c), ShownMembership.of(me)) for c, me in pairs]
        views, shown = await self._conversations(session, shown_pairs, viewer, all_participants)
        participants = shown.models()
        return [v.model_copy(update={"participants": participants[v.id]}) for v in views]

    async def conversation_page(
        self,
        session: AsyncSession,
        pairs: Sequence[tuple[ShownConversation, ShownMembership]],
        viewer: uuid.UUID,
    ) -> list[dict[str, Any]]:
        """A list page's conversations as their JSON (`ConversationPublic.wire()`'s),
        made without the models: a page of 100 carries 2,000 participants and 100 last
        messages, and making, validating and dumping their models cost 4.9 % of a page's
        instructions (`bench/list_cpu.py --callgrind`; `docs/performance.md`, "Fourteenth
        round")."""
        if not pairs:
            return []
        reads = await ViewReads.of(session)
        shown, counts, unread = await self._around(reads, pairs, viewer, False)
        participants = shown.json_values()
        last_ids = [c.last_message_id for c, _ in pairs if c.last_message_id is not None]
        last = await last_message_json(reads, self.urls, last_ids, viewer)
        return [
            conversation_json(
                c,
                me,
                urls=self.urls,
                last_message=last.get(c.last_message_id) if c.last_message_id else None,
                participants=participants[c.id],
                participant_count=counts.get(c.id, 0),
                unread_count=unread[c.id][0],
                unread_mentions=unread[c.id][1],
            )
            for c, me in pairs
        ]

    async def _conversations(
        self,
        session: AsyncSession,
        pairs: Sequence[tuple[ShownConversation, ShownMembership]],
        viewer: uuid.UUID,
        all_participants: bool,
    ) -> tuple[list[ConversationPublic], ShownParticipants]:
        reads = await ViewReads.of(session)
        shown, counts, unread = await self._around(reads, pairs, viewer, all_participants)
        last_ids = [c.last_message_id for c, _ in pairs if c.last_message_id is not None]
        last = await last_message_views(reads, self.urls, last_ids, viewer)
        views = [
            conversation_public(
                c,
                me,
                urls=self.urls,
                last_message=last.get(c.last_message_id) if c.last_message_id else None,
                participants=[],
                participant_count=counts.get(c.id, 0),
                unread_count=unread[c.id][0],
                unread_mentions=unread[c.id][1],
            )
            for c, me in pairs
        ]
        return views, shown

    async def _around(
        self,
        reads: ViewReads,
        pairs: Sequence[tuple[ShownConversation, ShownMembership]],
        viewer: uuid.UUID,
        all_participants: bool,
    ) -> tuple[ShownParticipants, dict[uuid.UUID, int], dict[uuid.UUID, tuple[int, int]]]:
        """What the views of these conversations show beside their own rows: their
        participants, how many each has, and the viewer's unread counts and mentions."""
        ids = [c.id for c, _ in pairs]
        shown, counts = await self.participants(
            reads,
            ids,
            per_conversation=None if all_participants else LIST_PARTICIPANTS,
            viewer=viewer,
            shared={c.id for c, me in pairs if me.status == ParticipantStatus.ACTIVE},
        )
        unread = await reads.unread_and_mentions(viewer, ids)
        return shown, counts, unread

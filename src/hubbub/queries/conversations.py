"""Reading conversations: the caller's list, one conversation, and the views events carry.

Edge -> here -> storage (`hubbub.store.conversations`), presented by
`hubbub.queries.views`. Who may see a conversation is decided by
`hubbub.store.access`: one the caller is not an ACTIVE participant of is NotFound. The
methods that take a session read inside the caller's transaction: the conversation and
participant actions build the views their events carry with them, after their writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.queries.presenters import participant_public
from hubbub.queries.views import Views
from hubbub.store.access import ConversationAccess, access_conversation
from hubbub.store.conversations import (
    active_participants_txn,
    conversation_ids_of_txn,
    conversation_page_txn,
    participants_with_users_txn,
)
from hubbub.store.database import Database
from hubbub.store.markers import unread_counts_of_everyone_txn
from hubbub.store.models import Conversation, Message
from hubbub.wire.models import (
    ConversationList,
    ConversationPublic,
    MessagePublic,
    ParticipantPublic,
)


class ConversationQueries:
    def __init__(self, db: Database, views: Views) -> None:
        self._db = db
        self._views = views

    async def list_for(
        self, viewer: uuid.UUID, *, limit: int, before: datetime | None, archived: bool
    ) -> ConversationList:
        async with self._db.read() as session:
            rows, total = await conversation_page_txn(
                session, viewer, limit=limit, before=before, archived=archived
            )
            views = await self._views.conversations(session, rows, viewer)
        return ConversationList(conversations=views, total=total)

    async def get(self, viewer: uuid.UUID, conversation_id: uuid.UUID) -> ConversationPublic:
        async with self._db.read() as session:
            access = await access_conversation(session, viewer, conversation_id)
            return await self.view(session, access, viewer, all_participants=True)

    async def conversation_ids_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """The conversations whose live events the user's sockets receive."""
        async with self._db.read() as session:
            return await conversation_ids_of_txn(session, user_id)

    async def require_member(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        async with self._db.read() as session:
            await access_conversation(session, user_id, conversation_id)

    # Inside the caller's transaction ---------------------------------------------------

    async def view(
        self,
        session: AsyncSession,
        access: ConversationAccess,
        viewer: uuid.UUID,
        *,
        all_participants: bool = False,
    ) -> ConversationPublic:
        (view,) = await self._views.conversations(
            session, [(access.conversation, access.me)], viewer, all_participants=all_participants
        )
        return view

    async def views_for_everyone(
        self,
        session: AsyncSession,
        conversation_id: uuid.UUID,
        *,
        only: set[uuid.UUID] | None = None,
    ) -> dict[uuid.UUID, ConversationPublic]:
        """Each ACTIVE participant's own view, for per-user events, with shared parts
        (participants, last message) loaded once; read in the writing transaction."""
        await session.flush()
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            return {}
        members = await active_participants_txn(session, conversation_id, only=only)
        if not members:
            return {}
        (base,) = await self._views.conversations(
            session, [(conversation, members[0])], members[0].user_id
        )
        unread = await unread_counts_of_everyone_txn(session, conversation_id)
        return {
            p.user_id: base.model_copy(
                update={
                    "my_role": p.role,
                    "is_archived": p.is_archived,
                    "notifications_enabled": p.notifications_enabled,
                    "unread_count": unread.get(p.user_id, 0),
                }
            )
            for p in members
        }

    async def participant_views(
        self, session: AsyncSession, conversation_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> list[ParticipantPublic]:
        """These users' participant views, in the order asked (those with a row)."""
        by_user = await participants_with_users_txn(session, conversation_id, user_ids)
        online = await self._views.presence.online(by_user)
        return [
            participant_public(
                by_user[uid][0], by_user[uid][1], online=uid in online, urls=self._views.urls
            )
            for uid in user_ids
            if uid in by_user
        ]

    async def message_view(
        self, session: AsyncSession, message: Message, viewer: uuid.UUID
    ) -> MessagePublic:
        (view,) = await self._views.messages(session, [message], viewer)
        return view

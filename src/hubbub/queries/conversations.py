"""Reading conversations: the caller's list, one conversation, and the views events carry.

Edge -> here -> storage (`hubbub.store.conversations`), presented by
`hubbub.queries.views`. Who may see a conversation is decided by
`hubbub.store.access`: one the caller is not an ACTIVE participant of is NotFound. The
methods that take a session read inside the caller's transaction: the conversation and
participant actions build the views their events carry with them, after their writes.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.domain.errors import BadRequest
from hubbub.domain.ids import utcnow
from hubbub.domain.notify_rules import notifications_on
from hubbub.queries.presenters import participant_public
from hubbub.queries.users import shown_online
from hubbub.queries.views import Views
from hubbub.store.access import ConversationAccess, access_conversation
from hubbub.store.conversation_page import conversation_page_txn
from hubbub.store.conversations import (
    active_participants_txn,
    participants_with_users_txn,
)
from hubbub.store.database import Database
from hubbub.store.handshake_reads import conversation_ids_of
from hubbub.store.markers import unread_counts_of_everyone_txn
from hubbub.store.models import Conversation, Message
from hubbub.wire.listing import EncodedConversationList
from hubbub.wire.models import (
    ConversationPublic,
    MessagePublic,
    ParticipantPublic,
)

# A conversation list's cursor: where the page ended, (lastMessageAt to the microsecond,
# id), as URL-safe base64 of "<ISO 8601 time>|<id>". A millisecond is not enough: many
# conversations can share one, and paging by it skipped them.
_CURSOR_LENGTH = 120


def make_cursor(at: datetime, conversation_id: uuid.UUID) -> str:
    raw = f"{at.astimezone(UTC).isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (lastMessageAt, id) of `make_cursor`; anything else is 400 invalid_cursor."""
    try:
        if not cursor or len(cursor) > _CURSOR_LENGTH:
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
        at_text, _, id_text = raw.partition("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError(at_text)
        return at.astimezone(UTC), uuid.UUID(id_text)
    except ValueError as exc:  # binascii.Error and UnicodeError are ValueErrors
        raise BadRequest("Cursor is not one this list gave", code="invalid_cursor") from exc


class ConversationQueries:
    def __init__(self, db: Database, views: Views) -> None:
        self._db = db
        self._views = views

    async def list_for(
        self,
        viewer: uuid.UUID,
        *,
        limit: int,
        before: datetime | None,
        archived: bool,
        cursor: str | None = None,
    ) -> EncodedConversationList:
        """A page of the list: the newest, or those older than `before` (a lastMessageAt,
        as the API has it), or those after `cursor` (a page's `nextCursor`), never both."""
        after = read_cursor(cursor) if cursor is not None else None
        if after is not None and before is not None:
            raise BadRequest("Use one of before and cursor", code="invalid_cursor")
        async with self._db.read() as session:
            rows, total, more = await conversation_page_txn(
                session, viewer, limit=limit, before=before, after=after, archived=archived
            )
            conversations = await self._views.conversation_page(session, rows, viewer)
        last = rows[-1][0] if more else None
        next_cursor = None if last is None else make_cursor(last.last_message_at, last.id)
        return EncodedConversationList(conversations, total, next_cursor)

    async def get(self, viewer: uuid.UUID, conversation_id: uuid.UUID) -> ConversationPublic:
        async with self._db.read() as session:
            access = await access_conversation(session, viewer, conversation_id)
            return await self.view(session, access, viewer, all_participants=True)

    async def conversation_ids_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """The conversations whose live events the user's sockets receive."""
        return await conversation_ids_of(self._db.driver_reads, user_id)

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
        now = utcnow()
        return {
            p.user_id: base.model_copy(
                update={
                    "my_role": p.role,
                    "is_archived": p.is_archived,
                    "notifications_enabled": notifications_on(p.notify_level, p.muted_until, now),
                    "notification_level": p.notify_level,
                    "muted_until": p.muted_until,
                    "unread_count": unread.get(p.user_id, 0),
                }
            )
            for p in members
        }

    async def participant_views(
        self,
        session: AsyncSession,
        conversation_id: uuid.UUID,
        user_ids: Sequence[uuid.UUID],
        *,
        viewer: uuid.UUID,
    ) -> list[ParticipantPublic]:
        """These users' participant views, in the order asked (those with a row), as
        `viewer` sees them: an ACTIVE participant of the conversation, so its other ACTIVE
        participants are contacts."""
        by_user = await participants_with_users_txn(session, conversation_id, user_ids)
        online = await self._views.presence.online(by_user)
        contacts = {u for u, (p, _) in by_user.items() if p.status == ParticipantStatus.ACTIVE}
        return [
            participant_public(
                p,
                user,
                online=shown_online(viewer, uid, contacts, online),
                urls=self._views.urls,
            )
            for uid in user_ids
            if uid in by_user
            for p, user in [by_user[uid]]
        ]

    async def message_view(
        self, session: AsyncSession, message: Message, viewer: uuid.UUID
    ) -> MessagePublic:
        (view,) = await self._views.messages(session, [message], viewer)
        return view

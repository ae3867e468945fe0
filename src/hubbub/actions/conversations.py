"""Conversations: create (private, group, space), rename and describe, personal settings.

Edge -> here -> storage; events after commit. Who may see a conversation is decided by
`hubbub.store.access`, who may do what by `hubbub.domain.rules`; its participants are
changed by `hubbub.actions.participants`, and it is read through
`hubbub.queries.conversations`. A rename writes a SYSTEM message, which takes the
conversation's next sequence number like any other message (`hubbub.store.sequence`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from hubbub.actions.budgets import Budgets
from hubbub.actions.notifications import choose_notifications
from hubbub.actions.participants import MAX_PARTICIPANTS, announce, display, new_participant
from hubbub.actions.users import chosen_avatar
from hubbub.config import Budget
from hubbub.domain.enums import ConversationType, Role
from hubbub.domain.errors import NotFound, ValidationFailed
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.rules import require_admin, require_not_private, space_conversation_role
from hubbub.events.catalog import ConversationCreated, ConversationUpdated, NewMessage
from hubbub.queries.conversations import ConversationQueries
from hubbub.store.access import access_conversation, access_space
from hubbub.store.conversations import private_conversation_id_txn
from hubbub.store.database import Database
from hubbub.store.models import Conversation, User
from hubbub.store.sequence import write_system_message
from hubbub.store.spaces import lock_space_txn, space_members_txn
from hubbub.store.unit import emit
from hubbub.store.users import active_users_txn
from hubbub.wire.models import (
    ConversationPublic,
    CreateConversation,
    UpdateConversation,
)
from hubbub.wire.notifications import ConversationSettings


def private_pair_key(a: uuid.UUID, b: uuid.UUID) -> str:
    low, high = sorted((str(a), str(b)))
    return f"{low}:{high}"


class ConversationService:
    def __init__(self, db: Database, queries: ConversationQueries, budgets: Budgets) -> None:
        self._db = db
        self._queries = queries
        self._budgets = budgets

    # Creating --------------------------------------------------------------------------

    async def create(
        self, viewer: uuid.UUID, req: CreateConversation
    ) -> tuple[ConversationPublic, bool]:
        await self._budgets.take(Budget.CONVERSATION_CREATE, viewer)
        # Per user added, too: nobody is pulled into conversations without end.
        await self._budgets.take_each(Budget.ADDED_TO, set(req.participant_ids) - {viewer})
        if req.type == ConversationType.PRIVATE:
            return await self._create_private(viewer, req)
        if req.type == ConversationType.GROUP:
            return await self._create_group(viewer, req), True
        return await self._create_space_conversation(viewer, req), True

    async def _create_private(
        self, viewer: uuid.UUID, req: CreateConversation
    ) -> tuple[ConversationPublic, bool]:
        others = set(req.participant_ids) - {viewer}
        if len(others) != 1:
            raise ValidationFailed(
                "participantIds: a private conversation has exactly one other user"
            )
        (other,) = others
        key = private_pair_key(viewer, other)
        existing = await self._existing_private(viewer, key)
        if existing is not None:
            return existing, False
        now = utcnow()
        try:
            async with self._db.write() as session:
                if other not in await active_users_txn(session, {other}):
                    raise NotFound("User not found", code="user_not_found")
                conversation = Conversation(
                    id=new_id(),
                    type=ConversationType.PRIVATE,
                    private_pair_key=key,
                    created_by=viewer,
                    created_at=now,
                    updated_at=now,
                    last_message_at=now,
                    last_seq=0,
                    message_count=0,
                    metadata_={},
                )
                session.add(conversation)
                await session.flush()
                for uid in (viewer, other):
                    session.add(
                        new_participant(conversation.id, uid, Role.MEMBER, last_seq=0, now=now)
                    )
                await announce(session, self._queries, ConversationCreated, conversation.id)
        except IntegrityError:
            # Both users created it at once; the unique pair key let exactly one through.
            existing = await self._existing_private(viewer, key)
            if existing is None:
                raise
            return existing, False
        return await self._queries.get(viewer, conversation.id), True

    async def _existing_private(self, viewer: uuid.UUID, key: str) -> ConversationPublic | None:
        async with self._db.read() as session:
            conversation_id = await private_conversation_id_txn(session, key)
        if conversation_id is None:
            return None
        return await self._queries.get(viewer, conversation_id)

    async def _create_group(self, viewer: uuid.UUID, req: CreateConversation) -> ConversationPublic:
        if req.name is None:
            raise ValidationFailed("name: a group needs a name")
        others = set(req.participant_ids) - {viewer}
        if not others:
            raise ValidationFailed("participantIds: a group needs at least one other user")
        if len(others) + 1 > MAX_PARTICIPANTS:
            raise ValidationFailed(f"participantIds: at most {MAX_PARTICIPANTS} participants")
        now = utcnow()
        async with self._db.write() as session:
            found = await active_users_txn(session, others)
            if len(found) != len(others):
                raise NotFound("User not found", code="user_not_found")
            conversation = self._new_conversation(ConversationType.GROUP, viewer, req, now)
            session.add(conversation)
            await session.flush()
            session.add(new_participant(conversation.id, viewer, Role.OWNER, last_seq=0, now=now))
            for uid in sorted(others):
                session.add(new_participant(conversation.id, uid, Role.MEMBER, last_seq=0, now=now))
            await announce(session, self._queries, ConversationCreated, conversation.id)
        return await self._queries.get(viewer, conversation.id)

    async def _create_space_conversation(
        self, viewer: uuid.UUID, req: CreateConversation
    ) -> ConversationPublic:
        if req.space_id is None:
            raise ValidationFailed("spaceId: a space conversation needs its space")
        if req.name is None:
            raise ValidationFailed("name: a space conversation needs a name")
        now = utcnow()
        async with self._db.write() as session:
            await access_space(session, viewer, req.space_id)
            await lock_space_txn(session, req.space_id)
            members = await space_members_txn(session, req.space_id)
            conversation = self._new_conversation(ConversationType.SPACE, viewer, req, now)
            conversation.space_id = req.space_id
            session.add(conversation)
            await session.flush()
            for member in members:
                session.add(
                    new_participant(
                        conversation.id,
                        member.user_id,
                        space_conversation_role(member, creator=viewer),
                        last_seq=0,
                        now=now,
                    )
                )
            await announce(session, self._queries, ConversationCreated, conversation.id)
        return await self._queries.get(viewer, conversation.id)

    @staticmethod
    def _new_conversation(
        kind: ConversationType, viewer: uuid.UUID, req: CreateConversation, now: datetime
    ) -> Conversation:
        return Conversation(
            id=new_id(),
            type=kind,
            name=req.name,
            description=req.description,
            created_by=viewer,
            created_at=now,
            updated_at=now,
            last_message_at=now,
            last_seq=0,
            message_count=0,
            metadata_={},
        )

    # Changing ----------------------------------------------------------------------------

    async def update(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, req: UpdateConversation
    ) -> ConversationPublic:
        fields = req.model_fields_set
        await self._budgets.take(Budget.CONVERSATION_UPDATE, viewer)
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            require_not_private(access)
            require_admin(access)
            conversation = access.conversation
            renamed = "name" in fields and req.name is not None and req.name != conversation.name
            if "name" in fields and req.name is None:
                raise ValidationFailed("name: must not be empty")
            if "name" in fields and req.name is not None:
                conversation.name = req.name
            if "description" in fields:
                conversation.description = req.description
            if "avatar" in fields:
                conversation.avatar_file_id = await chosen_avatar(session, viewer, req.avatar)
            if fields:
                conversation.updated_at = utcnow()
            if renamed:
                actor = await session.get(User, viewer)
                assert actor is not None
                message = await write_system_message(
                    session,
                    conversation.id,
                    viewer,
                    f"{display(actor)} renamed the conversation to “{req.name}”",
                    {"event": "renamed", "name": req.name},
                )
                emit(
                    session, NewMessage(await self._queries.message_view(session, message, viewer))
                )
            if fields:
                await announce(session, self._queries, ConversationUpdated, conversation_id)
        return await self._queries.get(viewer, conversation_id)

    async def update_settings(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, req: ConversationSettings
    ) -> ConversationPublic:
        await self._budgets.take(Budget.PROFILE, viewer)
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id, lock=True)
            choose_notifications(access.me, req)
            if req.is_archived is not None:
                access.me.is_archived = req.is_archived
            access.me.updated_at = utcnow()
            view = await self._queries.view(session, access, viewer, all_participants=True)
            # Only the caller's own sockets: settings are its own view.
            emit(session, ConversationUpdated(view, viewer))
        return view

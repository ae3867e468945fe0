"""Spaces (workspaces): create one, and its members, who are in every SPACE conversation.

Edge -> here -> storage; events after commit. A space member is an ACTIVE participant
of every SPACE conversation of the space: participant rows are written eagerly when a
conversation is made (`ConversationService`) and when members join or leave here, so
reads, sends, unread counts and events need no special case for spaces. Reading spaces
is `hubbub.queries.spaces`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.budgets import Budgets
from hubbub.actions.participants import new_participant, reactivate
from hubbub.config import Budget
from hubbub.domain.enums import ParticipantStatus, Role
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.rules import (
    require_can_remove_from_space,
    require_space_admin,
    space_conversation_role,
)
from hubbub.events.catalog import ConversationCreated, ParticipantAdded, ParticipantRemoved
from hubbub.queries.conversations import ConversationQueries
from hubbub.queries.spaces import SpaceQueries, space_public
from hubbub.store.access import access_space
from hubbub.store.conversations import participant_rows_txn
from hubbub.store.database import Database
from hubbub.store.models import Conversation, Space, SpaceMember
from hubbub.store.spaces import (
    lock_space_txn,
    locked_space_conversations_txn,
    member_ids_among_txn,
    space_participations_txn,
)
from hubbub.store.unit import emit
from hubbub.store.users import active_users_txn
from hubbub.wire.models import CreateSpace, SpacePublic


class SpaceService:
    def __init__(
        self,
        db: Database,
        conversations: ConversationQueries,
        queries: SpaceQueries,
        budgets: Budgets,
    ) -> None:
        self._db = db
        self._conversations = conversations
        self._queries = queries
        self._budgets = budgets

    async def create(self, viewer: uuid.UUID, req: CreateSpace) -> SpacePublic:
        await self._budgets.take(Budget.SPACE, viewer)
        now = utcnow()
        async with self._db.write() as session:
            space = Space(
                id=new_id(),
                name=req.name,
                description=req.description,
                created_by=viewer,
                created_at=now,
                updated_at=now,
            )
            session.add(space)
            await session.flush()
            member = SpaceMember(space_id=space.id, user_id=viewer, role=Role.OWNER, joined_at=now)
            session.add(member)
        return space_public(space, member, 1, self._queries.urls)

    async def add_members(
        self, viewer: uuid.UUID, space_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> SpacePublic:
        now = utcnow()
        targets = set(user_ids) - {viewer}
        await self._budgets.take(Budget.PARTICIPANT, viewer)
        await self._budgets.take_each(Budget.ADDED_TO, targets)
        await self._add_members(viewer, space_id, targets, now)
        return await self._queries.get(viewer, space_id)

    async def _add_members(
        self, viewer: uuid.UUID, space_id: uuid.UUID, targets: set[uuid.UUID], now: datetime
    ) -> None:
        async with self._db.write() as session:
            _, me = await access_space(session, viewer, space_id)
            require_space_admin(me)
            # Before reading who is in: the same addition twice at once, or a channel
            # created meanwhile, waits here and then sees this one's members.
            await lock_space_txn(session, space_id)
            if len(await active_users_txn(session, targets)) != len(targets):
                raise NotFound("User not found", code="user_not_found")
            present = await member_ids_among_txn(session, space_id, targets)
            joined = sorted(targets - present)
            conversations = await locked_space_conversations_txn(session, space_id)
            for uid in joined:
                member = SpaceMember(
                    space_id=space_id, user_id=uid, role=Role.MEMBER, joined_at=now
                )
                session.add(member)
                for conversation in conversations:
                    await self._join_conversation(session, conversation, member, now)
            for conversation in conversations:
                views = await self._conversations.views_for_everyone(
                    session, conversation.id, only=set(joined)
                )
                emit(session, *(ConversationCreated(v, uid) for uid, v in views.items()))
                for participant in next(iter(views.values())).participants if views else []:
                    if participant.user_id in joined:
                        emit(session, ParticipantAdded(conversation.id, participant))

    async def _join_conversation(
        self,
        session: AsyncSession,
        conversation: Conversation,
        member: SpaceMember,
        now: datetime,
    ) -> None:
        rows = await participant_rows_txn(session, conversation.id, [member.user_id])
        row = rows.get(member.user_id)
        role = space_conversation_role(member, creator=conversation.created_by or uuid.UUID(int=0))
        if row is None:
            session.add(
                new_participant(
                    conversation.id, member.user_id, role, last_seq=conversation.last_seq, now=now
                )
            )
        else:
            reactivate(row, role, last_seq=conversation.last_seq, now=now)

    async def remove_member(
        self, viewer: uuid.UUID, space_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        now = utcnow()
        await self._budgets.take(Budget.PARTICIPANT, viewer)
        async with self._db.write() as session:
            _, me = await access_space(session, viewer, space_id)
            await lock_space_txn(session, space_id)
            if user_id != viewer:
                # Before the lookup: only an admin learns whether someone is a member.
                require_space_admin(me)
            target = await session.get(SpaceMember, (space_id, user_id))
            if target is None:
                raise NotFound("Member not found", code="member_not_found")
            require_can_remove_from_space(me, target)
            await session.delete(target)
            rows = await space_participations_txn(session, space_id, user_id)
            for row in rows:
                row.status = (
                    ParticipantStatus.LEFT if user_id == viewer else ParticipantStatus.REMOVED
                )
                row.left_at = now
                row.updated_at = now
            emit(session, *(ParticipantRemoved(r.conversation_id, user_id) for r in rows))

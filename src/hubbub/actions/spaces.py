"""Spaces (workspaces): their members, and the SPACE conversations every member is in.

Edge -> here -> storage; events after commit. A space member is an ACTIVE participant
of every SPACE conversation of the space: participant rows are written eagerly when a
conversation is made (`ConversationService`) and when members join or leave here, so
reads, sends, unread counts and events need no special case for spaces.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.conversations import (
    ConversationService,
    active_users,
    new_participant,
    reactivate,
)
from hubbub.domain.enums import ConversationType, ParticipantStatus, Role
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.rules import (
    require_can_remove_from_space,
    require_space_admin,
    space_conversation_role,
)
from hubbub.events.catalog import ConversationCreated, ParticipantAdded, ParticipantRemoved
from hubbub.queries.views import Views
from hubbub.store.access import access_space
from hubbub.store.database import Database
from hubbub.store.models import Conversation, Participant, Space, SpaceMember
from hubbub.store.unit import emit
from hubbub.wire.models import ConversationPublic, CreateSpace, SpacePublic


def space_public(space: Space, member: SpaceMember, member_count: int) -> SpacePublic:
    return SpacePublic(
        id=space.id,
        name=space.name,
        description=space.description,
        avatar=space.avatar,
        created_by=space.created_by,
        created_at=space.created_at,
        member_count=member_count,
        my_role=member.role,
    )


class SpaceService:
    def __init__(self, db: Database, views: Views, conversations: ConversationService) -> None:
        self._db = db
        self._views = views
        self._conversations = conversations

    async def _member_counts(self, space_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        async with self._db.read() as session:
            rows = await session.execute(
                select(SpaceMember.space_id, func.count())
                .where(SpaceMember.space_id.in_(space_ids))
                .group_by(SpaceMember.space_id)
            )
            return {sid: int(n) for sid, n in rows.all()}

    async def create(self, viewer: uuid.UUID, req: CreateSpace) -> SpacePublic:
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
        return space_public(space, member, 1)

    async def list_for(self, viewer: uuid.UUID) -> list[SpacePublic]:
        async with self._db.read() as session:
            rows = (
                await session.execute(
                    select(Space, SpaceMember)
                    .join(SpaceMember, SpaceMember.space_id == Space.id)
                    .where(SpaceMember.user_id == viewer)
                    .order_by(Space.name, Space.id)
                )
            ).all()
        counts = await self._member_counts([r.Space.id for r in rows])
        return [space_public(r.Space, r.SpaceMember, counts.get(r.Space.id, 0)) for r in rows]

    async def get(self, viewer: uuid.UUID, space_id: uuid.UUID) -> SpacePublic:
        async with self._db.read() as session:
            space, member = await access_space(session, viewer, space_id)
        counts = await self._member_counts([space_id])
        return space_public(space, member, counts.get(space_id, 0))

    async def add_members(
        self, viewer: uuid.UUID, space_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> SpacePublic:
        now = utcnow()
        async with self._db.write() as session:
            _, me = await access_space(session, viewer, space_id)
            require_space_admin(me)
            targets = set(user_ids) - {viewer}
            if len(await active_users(session, targets)) != len(targets):
                raise NotFound("User not found", code="user_not_found")
            present = set(
                (
                    await session.scalars(
                        select(SpaceMember.user_id)
                        .where(SpaceMember.space_id == space_id)
                        .where(SpaceMember.user_id.in_(targets))
                    )
                ).all()
            )
            joined = sorted(targets - present)
            conversations = (
                await session.scalars(
                    select(Conversation)
                    .where(Conversation.space_id == space_id)
                    .where(Conversation.type == ConversationType.SPACE)
                    .with_for_update()
                )
            ).all()
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
        return await self.get(viewer, space_id)

    async def _join_conversation(
        self,
        session: AsyncSession,
        conversation: Conversation,
        member: SpaceMember,
        now: datetime,
    ) -> None:
        row = await session.scalar(
            select(Participant)
            .where(Participant.conversation_id == conversation.id)
            .where(Participant.user_id == member.user_id)
        )
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
        async with self._db.write() as session:
            _, me = await access_space(session, viewer, space_id)
            if user_id != viewer:
                # Before the lookup: only an admin learns whether someone is a member.
                require_space_admin(me)
            target = await session.get(SpaceMember, (space_id, user_id))
            if target is None:
                raise NotFound("Member not found", code="member_not_found")
            require_can_remove_from_space(me, target)
            await session.delete(target)
            rows = (
                await session.scalars(
                    select(Participant)
                    .join(Conversation, Conversation.id == Participant.conversation_id)
                    .where(Conversation.space_id == space_id)
                    .where(Conversation.type == ConversationType.SPACE)
                    .where(Participant.user_id == user_id)
                    .where(Participant.status == ParticipantStatus.ACTIVE)
                )
            ).all()
            for row in rows:
                row.status = (
                    ParticipantStatus.LEFT if user_id == viewer else ParticipantStatus.REMOVED
                )
                row.left_at = now
                row.updated_at = now
            emit(session, *(ParticipantRemoved(r.conversation_id, user_id) for r in rows))

    async def conversations(
        self, viewer: uuid.UUID, space_id: uuid.UUID
    ) -> list[ConversationPublic]:
        async with self._db.read() as session:
            await access_space(session, viewer, space_id)
            rows = (
                await session.execute(
                    select(Conversation, Participant)
                    .join(Participant, Participant.conversation_id == Conversation.id)
                    .where(Conversation.space_id == space_id)
                    .where(Conversation.type == ConversationType.SPACE)
                    .where(Participant.user_id == viewer)
                    .where(Participant.status == ParticipantStatus.ACTIVE)
                    .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
                )
            ).all()
            return await self._views.conversations(
                session, [(r.Conversation, r.Participant) for r in rows], viewer
            )

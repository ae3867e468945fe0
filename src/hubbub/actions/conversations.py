"""Conversations and their participants: create, list, read, rename, settings, members.

Edge -> here -> storage; events after commit. Who may do what is decided by the
`access_*` and `require_*` functions of `hubbub.store.access`. Membership changes and
renames write a SYSTEM message, which takes the conversation's next sequence number
like any other message (`hubbub.store.sequence`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ConversationType, ParticipantStatus, Role
from hubbub.domain.errors import Forbidden, NotFound, ValidationFailed
from hubbub.domain.ids import new_id, utcnow
from hubbub.events.catalog import (
    ConversationCreated,
    ConversationUpdated,
    NewMessage,
    ParticipantAdded,
    ParticipantRemoved,
)
from hubbub.queries.presenters import participant_public
from hubbub.queries.views import Views
from hubbub.store.access import (
    ConversationAccess,
    access_conversation,
    access_space,
    require_admin,
    require_can_add_members,
    require_can_grant_role,
    require_can_manage,
    require_can_remove,
    require_group,
    require_not_private,
)
from hubbub.store.database import Database
from hubbub.store.markers import unread_counts_of_everyone_txn
from hubbub.store.models import Conversation, Message, Participant, SpaceMember, User
from hubbub.store.sequence import write_system_message
from hubbub.store.unit import emit
from hubbub.wire.models import (
    AddParticipants,
    ConversationList,
    ConversationPublic,
    ConversationSettings,
    CreateConversation,
    MessagePublic,
    ParticipantPublic,
    UpdateConversation,
    UpdateParticipant,
)

MAX_PARTICIPANTS = 10_000


def private_pair_key(a: uuid.UUID, b: uuid.UUID) -> str:
    low, high = sorted((str(a), str(b)))
    return f"{low}:{high}"


def new_participant(
    conversation_id: uuid.UUID, user_id: uuid.UUID, role: Role, *, last_seq: int, now: datetime
) -> Participant:
    admin = role in (Role.OWNER, Role.ADMIN)
    return Participant(
        id=new_id(),
        conversation_id=conversation_id,
        user_id=user_id,
        role=role,
        status=ParticipantStatus.ACTIVE,
        joined_at=now,
        # A newcomer starts with everything before it read: only what follows is unread.
        last_read_seq=last_seq,
        last_delivered_seq=last_seq,
        can_send_messages=True,
        can_upload_files=True,
        can_add_members=admin,
        can_remove_members=admin,
        notifications_enabled=True,
        is_archived=False,
        created_at=now,
        updated_at=now,
    )


def reactivate(p: Participant, role: Role, *, last_seq: int, now: datetime) -> None:
    fresh = new_participant(p.conversation_id, p.user_id, role, last_seq=last_seq, now=now)
    for field in (
        "role", "status", "joined_at", "last_read_seq", "last_delivered_seq", "can_send_messages",
        "can_upload_files", "can_add_members", "can_remove_members", "notifications_enabled",
        "is_archived",
    ):  # fmt: skip
        setattr(p, field, getattr(fresh, field))
    p.left_at = None
    p.updated_at = now


async def active_users(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not user_ids:
        return {}
    found = (await session.scalars(select(User).where(User.id.in_(user_ids), User.is_active))).all()
    return {u.id: u for u in found}


def display(user: User) -> str:
    return user.display_name or user.username


# Asked at every handshake: built once.
_CONVERSATION_IDS_OF = (
    select(Participant.conversation_id)
    .where(Participant.user_id == bindparam("user_id"))
    .where(Participant.status == ParticipantStatus.ACTIVE)
)


class ConversationService:
    def __init__(self, db: Database, views: Views) -> None:
        self._db = db
        self._views = views

    # Reading ---------------------------------------------------------------------------

    async def list_for(
        self, viewer: uuid.UUID, *, limit: int, before: datetime | None, archived: bool
    ) -> ConversationList:
        base = (
            select(Conversation, Participant)
            .join(Participant, Participant.conversation_id == Conversation.id)
            .where(Participant.user_id == viewer)
            .where(Participant.status == ParticipantStatus.ACTIVE)
        )
        base = base.where(Participant.is_archived.is_(archived))
        async with self._db.read() as session:
            total = await session.scalar(select(func.count()).select_from(base.subquery()))
            page = base
            if before is not None:
                page = page.where(Conversation.last_message_at < before)
            rows = (
                await session.execute(
                    page.order_by(
                        Conversation.last_message_at.desc(), Conversation.id.desc()
                    ).limit(limit)
                )
            ).all()
            views = await self._views.conversations(
                session, [(r.Conversation, r.Participant) for r in rows], viewer
            )
        return ConversationList(conversations=views, total=total or 0)

    async def get(self, viewer: uuid.UUID, conversation_id: uuid.UUID) -> ConversationPublic:
        async with self._db.read() as session:
            access = await access_conversation(session, viewer, conversation_id)
            return await self._view(session, access, viewer, all_participants=True)

    async def _view(
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
        query = select(Participant).where(
            Participant.conversation_id == conversation_id,
            Participant.status == ParticipantStatus.ACTIVE,
        )
        if only is not None:
            query = query.where(Participant.user_id.in_(only))
        members = (await session.scalars(query)).all()
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

    async def _announce(
        self,
        session: AsyncSession,
        event: type[ConversationCreated | ConversationUpdated],
        conversation_id: uuid.UUID,
        *,
        only: set[uuid.UUID] | None = None,
    ) -> None:
        """Emit `event` to each participant (or those in `only`), with their own view."""
        views = await self.views_for_everyone(session, conversation_id, only=only)
        emit(session, *(event(view, uid) for uid, view in views.items()))

    async def conversation_ids_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """The conversations whose live events the user's sockets receive."""
        async with self._db.read() as session:
            rows = await session.scalars(_CONVERSATION_IDS_OF, {"user_id": user_id})
            return list(rows.all())

    async def require_member(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        async with self._db.read() as session:
            await access_conversation(session, user_id, conversation_id)

    # Creating --------------------------------------------------------------------------

    async def create(
        self, viewer: uuid.UUID, req: CreateConversation
    ) -> tuple[ConversationPublic, bool]:
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
                if other not in await active_users(session, {other}):
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
                await self._announce(session, ConversationCreated, conversation.id)
        except IntegrityError:
            # Both users created it at once; the unique pair key let exactly one through.
            existing = await self._existing_private(viewer, key)
            if existing is None:
                raise
            return existing, False
        return await self.get(viewer, conversation.id), True

    async def _existing_private(self, viewer: uuid.UUID, key: str) -> ConversationPublic | None:
        async with self._db.read() as session:
            conversation_id = await session.scalar(
                select(Conversation.id).where(Conversation.private_pair_key == key)
            )
        if conversation_id is None:
            return None
        return await self.get(viewer, conversation_id)

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
            found = await active_users(session, others)
            if len(found) != len(others):
                raise NotFound("User not found", code="user_not_found")
            conversation = self._new_conversation(ConversationType.GROUP, viewer, req, now)
            session.add(conversation)
            await session.flush()
            session.add(new_participant(conversation.id, viewer, Role.OWNER, last_seq=0, now=now))
            for uid in sorted(others):
                session.add(new_participant(conversation.id, uid, Role.MEMBER, last_seq=0, now=now))
            await self._announce(session, ConversationCreated, conversation.id)
        return await self.get(viewer, conversation.id)

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
            members = (
                await session.scalars(
                    select(SpaceMember).where(SpaceMember.space_id == req.space_id)
                )
            ).all()
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
            await self._announce(session, ConversationCreated, conversation.id)
        return await self.get(viewer, conversation.id)

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
                conversation.avatar = req.avatar or None
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
                emit(session, NewMessage(await self._one(session, message, viewer)))
            if fields:
                await self._announce(session, ConversationUpdated, conversation_id)
        return await self.get(viewer, conversation_id)

    async def update_settings(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, req: ConversationSettings
    ) -> ConversationPublic:
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id, lock=True)
            if req.notifications_enabled is not None:
                access.me.notifications_enabled = req.notifications_enabled
            if req.is_archived is not None:
                access.me.is_archived = req.is_archived
            access.me.updated_at = utcnow()
            view = await self._view(session, access, viewer, all_participants=True)
            # Only the caller's own sockets: settings are its own view.
            emit(session, ConversationUpdated(view, viewer))
        return view

    async def add_participants(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, req: AddParticipants
    ) -> ConversationPublic:
        now = utcnow()
        targets = set(req.user_ids) - {viewer}
        added: list[uuid.UUID] = []
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            require_group(access)
            require_can_add_members(access)
            require_can_grant_role(access, req.role)
            users = await active_users(session, targets)
            if len(users) != len(targets):
                raise NotFound("User not found", code="user_not_found")
            existing = {
                p.user_id: p
                for p in (
                    await session.scalars(
                        select(Participant)
                        .where(Participant.conversation_id == conversation_id)
                        .where(Participant.user_id.in_(targets))
                    )
                ).all()
            }
            active = await session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.conversation_id == conversation_id)
                .where(Participant.status == ParticipantStatus.ACTIVE)
            )
            for uid in sorted(targets):
                row = existing.get(uid)
                if row is not None and row.status == ParticipantStatus.ACTIVE:
                    continue  # already in: adding again changes nothing
                added.append(uid)
            if (active or 0) + len(added) > MAX_PARTICIPANTS:
                raise ValidationFailed(f"userIds: at most {MAX_PARTICIPANTS} participants")
            if added:
                actor = await session.get(User, viewer)
                assert actor is not None
                names = ", ".join(display(users[u]) for u in added)
                message = await write_system_message(
                    session,
                    conversation_id,
                    viewer,
                    f"{display(actor)} added {names}",
                    {"event": "participants_added", "userIds": [str(u) for u in added]},
                )
                last_seq = message.seq
                for uid in added:
                    row = existing.get(uid)
                    if row is None:
                        session.add(
                            new_participant(
                                conversation_id, uid, req.role, last_seq=last_seq, now=now
                            )
                        )
                    else:
                        reactivate(row, req.role, last_seq=last_seq, now=now)
                await session.flush()
                system = await self._one(session, message, viewer)
                added_views = await self._participants(session, conversation_id, added)
                emit(session, NewMessage(system))
                emit(session, *(ParticipantAdded(conversation_id, p) for p in added_views))
                await self._announce(session, ConversationCreated, conversation_id, only=set(added))
        return await self.get(viewer, conversation_id)

    async def update_participant(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        user_id: uuid.UUID,
        req: UpdateParticipant,
    ) -> ParticipantPublic:
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            require_not_private(access)
            target = await self._active_participant(session, conversation_id, user_id)
            require_can_manage(access, target)
            if req.role is not None:
                require_can_grant_role(access, req.role)
                target.role = req.role
                admin = req.role in (Role.OWNER, Role.ADMIN)
                target.can_add_members = admin
                target.can_remove_members = admin
            for field in (
                "can_send_messages",
                "can_upload_files",
                "can_add_members",
                "can_remove_members",
            ):
                value = getattr(req, field)
                if value is not None:
                    setattr(target, field, value)
            target.updated_at = utcnow()
            await session.flush()
            (view,) = await self._participants(session, conversation_id, [user_id])
            await self._announce(session, ConversationUpdated, conversation_id)
        return view

    async def remove_participant(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        now = utcnow()
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            if access.conversation.type == ConversationType.PRIVATE:
                raise Forbidden("Nobody leaves or is removed from a private conversation")
            if access.conversation.type == ConversationType.SPACE:
                raise Forbidden("Space conversations follow the space's membership")
            leaving = user_id == viewer
            target = (
                access.me
                if leaving
                else await self._active_participant(session, conversation_id, user_id)
            )
            if not leaving:
                require_can_remove(access, target)
            actor = await session.get(User, viewer)
            subject = await session.get(User, user_id)
            assert actor is not None
            assert subject is not None
            target.status = ParticipantStatus.LEFT if leaving else ParticipantStatus.REMOVED
            target.left_at = now
            target.updated_at = now
            if leaving and target.role == Role.OWNER:
                await self._hand_over_ownership(session, conversation_id, now)
            text = (
                f"{display(actor)} left"
                if leaving
                else f"{display(actor)} removed {display(subject)}"
            )
            message = await write_system_message(
                session,
                conversation_id,
                viewer,
                text,
                {"event": "left" if leaving else "participant_removed", "userId": str(user_id)},
            )
            emit(
                session,
                NewMessage(await self._one(session, message, viewer)),
                ParticipantRemoved(conversation_id, user_id),
            )

    async def _hand_over_ownership(
        self, session: AsyncSession, conversation_id: uuid.UUID, now: datetime
    ) -> None:
        """An owner who leaves passes the group to the longest-standing, highest-ranked member."""
        candidates = (
            await session.scalars(
                select(Participant)
                .where(Participant.conversation_id == conversation_id)
                .where(Participant.status == ParticipantStatus.ACTIVE)
                .order_by(Participant.joined_at, Participant.id)
            )
        ).all()
        if not candidates:
            return
        rank = {Role.ADMIN: 0, Role.MODERATOR: 1, Role.MEMBER: 2, Role.OWNER: 3}
        heir = min(candidates, key=lambda p: rank[p.role])
        heir.role = Role.OWNER
        heir.can_add_members = True
        heir.can_remove_members = True
        heir.updated_at = now

    async def _active_participant(
        self, session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
    ) -> Participant:
        target = await session.scalar(
            select(Participant)
            .where(Participant.conversation_id == conversation_id)
            .where(Participant.user_id == user_id)
            .where(Participant.status == ParticipantStatus.ACTIVE)
        )
        if target is None:
            raise NotFound("Participant not found", code="participant_not_found")
        return target

    async def _participants(
        self, session: AsyncSession, conversation_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> list[ParticipantPublic]:
        rows = (
            await session.execute(
                select(Participant, User)
                .join(User, User.id == Participant.user_id)
                .where(Participant.conversation_id == conversation_id)
                .where(Participant.user_id.in_(user_ids))
            )
        ).all()
        by_user = {p.user_id: (p, u) for p, u in rows}
        online = await self._views.presence.online(by_user)
        return [
            participant_public(by_user[uid][0], by_user[uid][1], online=uid in online)
            for uid in user_ids
            if uid in by_user
        ]

    async def _one(
        self, session: AsyncSession, message: Message, viewer: uuid.UUID
    ) -> MessagePublic:
        (view,) = await self._views.messages(session, [message], viewer)
        return view


def space_conversation_role(member: SpaceMember, *, creator: uuid.UUID) -> Role:
    if member.user_id == creator:
        return Role.OWNER
    if member.role in (Role.OWNER, Role.ADMIN):
        return Role.ADMIN
    return Role.MEMBER

"""The participants of a conversation: add, change a role or permissions, remove, leave.

Edge -> here -> storage; events after commit. Who may see a conversation is decided by
`hubbub.store.access`, who may do what by `hubbub.domain.rules`. Membership changes
write a SYSTEM message, which takes the conversation's next sequence number like any
other message (`hubbub.store.sequence`). The helpers above the class make and revive
participant rows for the other actions that add people (`hubbub.actions.conversations`,
`hubbub.actions.spaces`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.budgets import Budgets
from hubbub.actions.races import once_more_if_raced
from hubbub.config import Budget
from hubbub.domain.enums import ParticipantStatus, Role
from hubbub.domain.errors import NotFound, ValidationFailed
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.rules import (
    choose_heir,
    is_admin,
    require_can_add_members,
    require_can_grant_role,
    require_can_manage,
    require_can_remove,
    require_group,
    require_membership_by_hand,
    require_not_private,
    require_space_rank,
)
from hubbub.events.catalog import (
    ConversationCreated,
    ConversationUpdated,
    NewMessage,
    ParticipantAdded,
    ParticipantRemoved,
)
from hubbub.queries.conversations import ConversationQueries
from hubbub.store.access import access_conversation
from hubbub.store.conversations import (
    active_count_txn,
    active_participant_txn,
    participant_rows_txn,
    participants_by_standing_txn,
)
from hubbub.store.database import Database
from hubbub.store.models import Participant, User
from hubbub.store.sequence import write_system_message
from hubbub.store.spaces import space_roles_txn
from hubbub.store.unit import emit
from hubbub.store.users import active_users_txn
from hubbub.wire.models import (
    AddParticipants,
    ConversationPublic,
    ParticipantPublic,
    UpdateParticipant,
)

MAX_PARTICIPANTS = 10_000


def new_participant(
    conversation_id: uuid.UUID, user_id: uuid.UUID, role: Role, *, last_seq: int, now: datetime
) -> Participant:
    admin = is_admin(role)
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
        notify_level=None,
        muted_until=None,
        is_archived=False,
        created_at=now,
        updated_at=now,
    )


def reactivate(p: Participant, role: Role, *, last_seq: int, now: datetime) -> None:
    fresh = new_participant(p.conversation_id, p.user_id, role, last_seq=last_seq, now=now)
    for field in (
        "role", "status", "joined_at", "last_read_seq", "last_delivered_seq", "can_send_messages",
        "can_upload_files", "can_add_members", "can_remove_members", "notify_level",
        "muted_until", "is_archived",
    ):  # fmt: skip
        setattr(p, field, getattr(fresh, field))
    p.left_at = None
    p.updated_at = now


def display(user: User) -> str:
    return user.display_name or user.username


async def announce(
    session: AsyncSession,
    queries: ConversationQueries,
    event: type[ConversationCreated | ConversationUpdated],
    conversation_id: uuid.UUID,
    *,
    only: set[uuid.UUID] | None = None,
) -> None:
    """Emit `event` to each participant (or those in `only`), with their own view."""
    views = await queries.views_for_everyone(session, conversation_id, only=only)
    emit(session, *(event(view, uid) for uid, view in views.items()))


class ParticipantService:
    def __init__(self, db: Database, queries: ConversationQueries, budgets: Budgets) -> None:
        self._db = db
        self._queries = queries
        self._budgets = budgets

    async def add(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, req: AddParticipants
    ) -> ConversationPublic:
        now = utcnow()
        targets = set(req.user_ids) - {viewer}
        await self._budgets.take(Budget.PARTICIPANT, viewer)
        await self._budgets.take_each(Budget.ADDED_TO, targets)
        # Adding someone twice at once adds them once (`hubbub.actions.races`).
        await once_more_if_raced(lambda: self._add(viewer, conversation_id, req, targets, now))
        return await self._queries.get(viewer, conversation_id)

    async def _add(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        req: AddParticipants,
        targets: set[uuid.UUID],
        now: datetime,
    ) -> None:
        added: list[uuid.UUID] = []
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            require_group(access)
            require_can_add_members(access)
            require_can_grant_role(access, req.role)
            users = await active_users_txn(session, targets)
            if len(users) != len(targets):
                raise NotFound("User not found", code="user_not_found")
            existing = await participant_rows_txn(session, conversation_id, targets)
            active = await active_count_txn(session, conversation_id)
            for uid in sorted(targets):
                row = existing.get(uid)
                if row is not None and row.status == ParticipantStatus.ACTIVE:
                    continue  # already in: adding again changes nothing
                added.append(uid)
            if active + len(added) > MAX_PARTICIPANTS:
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
                system = await self._queries.message_view(session, message, viewer)
                added_views = await self._queries.participant_views(
                    session, conversation_id, added, viewer=viewer
                )
                emit(session, NewMessage(system))
                emit(session, *(ParticipantAdded(conversation_id, p) for p in added_views))
                await announce(
                    session, self._queries, ConversationCreated, conversation_id, only=set(added)
                )

    async def update(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        user_id: uuid.UUID,
        req: UpdateParticipant,
    ) -> ParticipantPublic:
        await self._budgets.take(Budget.PARTICIPANT, viewer)
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            require_not_private(access)
            target = await _active_participant(session, conversation_id, user_id)
            require_can_manage(access, target)
            space_id = access.conversation.space_id
            if space_id is not None:  # a SPACE conversation: the space's ranks come first
                ranks = await space_roles_txn(session, space_id, (viewer, user_id))
                require_space_rank(ranks.get(viewer, Role.MEMBER), ranks.get(user_id, Role.MEMBER))
            if req.role is not None:
                require_can_grant_role(access, req.role)
                target.role = req.role
                admin = is_admin(req.role)
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
            (view,) = await self._queries.participant_views(
                session, conversation_id, [user_id], viewer=viewer
            )
            await announce(session, self._queries, ConversationUpdated, conversation_id)
        return view

    async def remove(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        now = utcnow()
        await self._budgets.take(Budget.PARTICIPANT, viewer)
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id)
            require_membership_by_hand(access)
            leaving = user_id == viewer
            target = (
                access.me
                if leaving
                else await _active_participant(session, conversation_id, user_id)
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
                await hand_over_ownership(session, conversation_id, now)
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
                NewMessage(await self._queries.message_view(session, message, viewer)),
                ParticipantRemoved(conversation_id, user_id),
            )


async def hand_over_ownership(
    session: AsyncSession, conversation_id: uuid.UUID, now: datetime
) -> None:
    """An owner who leaves passes the group to the longest-standing, highest-ranked member."""
    heir = choose_heir(await participants_by_standing_txn(session, conversation_id))
    if heir is None:
        return
    heir.role = Role.OWNER
    heir.can_add_members = True
    heir.can_remove_members = True
    heir.updated_at = now


async def _active_participant(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Participant:
    target = await active_participant_txn(session, conversation_id, user_id)
    if target is None:
        raise NotFound("Participant not found", code="participant_not_found")
    return target

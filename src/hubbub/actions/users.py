"""User profiles: read, update, search.

Edge -> here -> storage. `email` is only ever put into a `Me` (the owner's view).
A profile change publishes `user_updated` after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, union, update
from sqlalchemy.orm import aliased

from hubbub.domain.enums import ParticipantStatus
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import utcnow
from hubbub.events.catalog import UserUpdated
from hubbub.realtime.presence import Presence
from hubbub.store.database import Database
from hubbub.store.models import Participant, SpaceMember, User
from hubbub.store.unit import emit
from hubbub.wire.models import (
    Me,
    SenderPublic,
    UpdateMe,
    UserList,
    UserPublic,
)


def user_public(user: User, *, online: bool) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        avatar=user.avatar,
        bio=user.bio,
        is_online=online,
        last_seen=user.last_seen,
        created_at=user.created_at,
    )


def me_public(user: User, *, online: bool) -> Me:
    return Me(
        **user_public(user, online=online).model_dump(),
        email=user.email,
        updated_at=user.updated_at,
    )


def sender_public(user: User) -> SenderPublic:
    return SenderPublic(
        id=user.id, username=user.username, display_name=user.display_name, avatar=user.avatar
    )


def escape_like(text: str) -> str:
    """Make `%`, `_` and the escape character itself match literally in LIKE."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Built once: presence events ask this for every handshake and disconnect, and building
# the aliased statement costs more than running it.
_me, _other = aliased(Participant), aliased(Participant)
_mine, _theirs = aliased(SpaceMember), aliased(SpaceMember)
_CONTACTS = union(
    select(_other.user_id)
    .join(_me, _me.conversation_id == _other.conversation_id)
    .where(_me.user_id == bindparam("user_id"))
    .where(_me.status == ParticipantStatus.ACTIVE)
    .where(_other.status == ParticipantStatus.ACTIVE),
    select(_theirs.user_id)
    .join(_mine, _mine.space_id == _theirs.space_id)
    .where(_mine.user_id == bindparam("user_id")),
)


class UserService:
    def __init__(self, db: Database, presence: Presence) -> None:
        self._db = db
        self._presence = presence

    async def _is_online(self, user_id: uuid.UUID) -> bool:
        return user_id in await self._presence.online([user_id])

    async def get_me(self, user_id: uuid.UUID) -> Me:
        async with self._db.read() as session:
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound("User not found", code="user_not_found")
        return me_public(user, online=await self._is_online(user_id))

    async def update_me(self, user_id: uuid.UUID, changes: UpdateMe) -> Me:
        fields = changes.model_fields_set
        if not fields:
            return await self.get_me(user_id)
        async with self._db.write() as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None or not user.is_active:
                raise NotFound("User not found", code="user_not_found")
            if "display_name" in fields:
                user.display_name = changes.display_name
                user.display_name_key = (
                    changes.display_name.lower() if changes.display_name else None
                )
            if "avatar" in fields:
                user.avatar = changes.avatar or None
            if "bio" in fields:
                user.bio = changes.bio
            user.updated_at = utcnow()
            online = await self._is_online(user_id)
            emit(session, UserUpdated(user_public(user, online=online)))
        return me_public(user, online=online)

    async def get_user(self, user_id: uuid.UUID) -> UserPublic:
        async with self._db.read() as session:
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound("User not found", code="user_not_found")
        return user_public(user, online=await self._is_online(user_id))

    async def contacts_of(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        """Users who share an ACTIVE conversation or a space with `user_id` (itself included)."""
        async with self._db.read() as session:
            found = set((await session.scalars(_CONTACTS, {"user_id": user_id})).all())
        found.add(user_id)
        return found

    async def presence(
        self, viewer: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[bool, datetime | None]]:
        """Online state and last seen of the asked users the viewer shares something with."""
        visible = set(user_ids) & await self.contacts_of(viewer)
        if not visible:
            return {}
        async with self._db.read() as session:
            rows = (
                await session.execute(select(User.id, User.last_seen).where(User.id.in_(visible)))
            ).all()
        online = await self._presence.online(visible)
        return {uid: (uid in online, seen) for uid, seen in rows}

    async def mark_seen(self, user_id: uuid.UUID, when: datetime) -> None:
        async with self._db.write() as session:
            await session.execute(update(User).where(User.id == user_id).values(last_seen=when))

    async def search(self, query: str, limit: int) -> UserList:
        pattern = escape_like(query.lower()) + "%"
        condition = or_(
            User.username_key.like(pattern, escape="\\"),
            User.display_name_key.like(pattern, escape="\\"),
        )
        async with self._db.read() as session:
            total = await session.scalar(
                select(func.count()).select_from(User).where(condition, User.is_active)
            )
            rows: Sequence[User] = (
                await session.scalars(
                    select(User)
                    .where(condition, User.is_active)
                    .order_by(User.username_key)
                    .limit(limit)
                )
            ).all()
        online = await self._presence.online(u.id for u in rows)
        return UserList(
            users=[user_public(u, online=u.id in online) for u in rows], total=total or 0
        )

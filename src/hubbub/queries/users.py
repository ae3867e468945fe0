"""Reading users: one's own profile, another's, presence, search; and their presenters.

Edge -> here -> storage (`hubbub.store.users`). `email` is only ever put into a `Me`
(the owner's view); an avatar is kept by its file id and its URL signed here, on
every read. The presenters are shared with `hubbub.queries.views` (senders,
participants) and the user actions (`hubbub.actions.users`, `hubbub.actions.auth`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from hubbub.domain.errors import NotFound
from hubbub.domain.rules import sees_presence
from hubbub.realtime.presence import Presence
from hubbub.realtime.sockets import Circle
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.handshake_reads import circles_of
from hubbub.store.models import User
from hubbub.store.users import (
    contact_ids_txn,
    last_seen_txn,
    search_users_txn,
)
from hubbub.store.view_reads import ShownUser
from hubbub.wire.models import Me, SenderPublic, UserList, UserPublic


def user_public(user: User | ShownUser, *, online: bool | None, urls: FileUrlSigner) -> UserPublic:
    """`online` None: the viewer may not see this user's presence (`shown_online`), and
    isOnline and lastSeen are both null."""
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        avatar=urls.avatar_url(user.avatar_file_id),
        bio=user.bio,
        is_online=online,
        last_seen=None if online is None else user.last_seen,
        created_at=user.created_at,
        is_bot=user.is_bot,
    )


def shown_online(
    viewer: uuid.UUID, subject: uuid.UUID, contacts: Collection[uuid.UUID], online: set[uuid.UUID]
) -> bool | None:
    """`user_public`'s `online` for `viewer`: None unless they may see `subject`'s presence."""
    return subject in online if sees_presence(viewer, subject, contacts) else None


def me_public(user: User, *, online: bool, urls: FileUrlSigner) -> Me:
    return Me(
        **user_public(user, online=online, urls=urls).model_dump(),
        email=user.email,
        updated_at=user.updated_at,
    )


def sender_public(user: User, urls: FileUrlSigner) -> SenderPublic:
    return SenderPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        avatar=urls.avatar_url(user.avatar_file_id),
        is_bot=user.is_bot,
    )


class UserQueries:
    def __init__(self, db: Database, presence: Presence, urls: FileUrlSigner) -> None:
        self._db = db
        self._presence = presence
        self.urls = urls

    async def is_online(self, user_id: uuid.UUID) -> bool:
        return user_id in await self._presence.online([user_id])

    async def get_me(self, user_id: uuid.UUID) -> Me:
        async with self._db.read() as session:
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound("User not found", code="user_not_found")
        return me_public(user, online=await self.is_online(user_id), urls=self.urls)

    async def get_user(self, viewer: uuid.UUID, user_id: uuid.UUID) -> UserPublic:
        async with self._db.read() as session:
            user = await session.get(User, user_id)
            if user is None or not user.is_active:
                raise NotFound("User not found", code="user_not_found")
            contacts = await contact_ids_txn(session, viewer)
        online = await self._presence.online([user_id])
        return user_public(
            user, online=shown_online(viewer, user_id, contacts, online), urls=self.urls
        )

    async def contacts_of(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        """Users who share an ACTIVE conversation or a space with `user_id` (itself included)."""
        async with self._db.read() as session:
            found = await contact_ids_txn(session, user_id)
        found.add(user_id)
        return found

    async def circles_of(self, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Circle]:
        """Whom the presence of each of these users reaches (`Circle`), read together."""
        found = await circles_of(self._db.driver_reads, user_ids)
        return {uid: Circle(*parts) for uid, parts in found.items()}

    async def presence(
        self, viewer: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[bool, datetime | None]]:
        """Online state and last seen of the asked users the viewer shares something with."""
        contacts = await self.contacts_of(viewer)
        visible = {uid for uid in user_ids if sees_presence(viewer, uid, contacts)}
        if not visible:
            return {}
        async with self._db.read() as session:
            rows = await last_seen_txn(session, visible)
        online = await self._presence.online(visible)
        return {uid: (uid in online, seen) for uid, seen in rows}

    async def search(self, viewer: uuid.UUID, query: str, limit: int) -> UserList:
        async with self._db.read() as session:
            rows, total = await search_users_txn(session, query, limit)
            contacts = await contact_ids_txn(session, viewer) if rows else set()
        online = await self._presence.online(u.id for u in rows)
        users = [
            user_public(u, online=shown_online(viewer, u.id, contacts, online), urls=self.urls)
            for u in rows
        ]
        return UserList(users=users, total=total)

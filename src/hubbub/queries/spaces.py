"""Reading spaces: the caller's spaces, one space, and its conversations the caller is in.

Edge -> here -> storage (`hubbub.store.spaces`). A space the caller is not a member of
is NotFound (`hubbub.store.access.access_space`).
"""

from __future__ import annotations

import uuid

from hubbub.queries.views import Views
from hubbub.security.urls import FileUrlSigner
from hubbub.store.access import access_space
from hubbub.store.database import Database
from hubbub.store.models import Space, SpaceMember
from hubbub.store.spaces import member_counts_txn, space_conversations_of_txn, spaces_of_txn
from hubbub.wire.models import ConversationPublic, SpacePublic


def space_public(
    space: Space, member: SpaceMember, member_count: int, urls: FileUrlSigner
) -> SpacePublic:
    return SpacePublic(
        id=space.id,
        name=space.name,
        description=space.description,
        avatar=urls.avatar_url(space.avatar_file_id),
        created_by=space.created_by,
        created_at=space.created_at,
        member_count=member_count,
        my_role=member.role,
    )


class SpaceQueries:
    def __init__(self, db: Database, views: Views) -> None:
        self._db = db
        self._views = views
        self.urls = views.urls

    async def _member_counts(self, space_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        async with self._db.read() as session:
            return await member_counts_txn(session, space_ids)

    async def list_for(self, viewer: uuid.UUID) -> list[SpacePublic]:
        async with self._db.read() as session:
            rows = await spaces_of_txn(session, viewer)
        counts = await self._member_counts([space.id for space, _ in rows])
        return [
            space_public(space, me, counts.get(space.id, 0), self._views.urls) for space, me in rows
        ]

    async def get(self, viewer: uuid.UUID, space_id: uuid.UUID) -> SpacePublic:
        async with self._db.read() as session:
            space, member = await access_space(session, viewer, space_id)
        counts = await self._member_counts([space_id])
        return space_public(space, member, counts.get(space_id, 0), self._views.urls)

    async def conversations(
        self, viewer: uuid.UUID, space_id: uuid.UUID
    ) -> list[ConversationPublic]:
        async with self._db.read() as session:
            await access_space(session, viewer, space_id)
            rows = await space_conversations_of_txn(session, space_id, viewer)
            return await self._views.conversations(session, rows, viewer)

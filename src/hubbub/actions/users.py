"""User profiles: update one's own, and when one was last seen.

Edge -> here -> storage. A profile change publishes `user_updated` after commit. Reading
profiles, presence and search are `hubbub.queries.users`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.budgets import Budgets
from hubbub.config import Budget
from hubbub.domain.errors import NotFound, ValidationFailed
from hubbub.domain.file_rules import avatar_choosable
from hubbub.domain.ids import utcnow
from hubbub.events.catalog import UserUpdated
from hubbub.queries.users import UserQueries, me_public, user_public
from hubbub.store.database import Database
from hubbub.store.files import file_by_id_txn
from hubbub.store.models import User
from hubbub.store.unit import emit
from hubbub.store.users import mark_seen_txn
from hubbub.wire.models import Me, UpdateMe


async def chosen_avatar(
    session: AsyncSession, user_id: uuid.UUID, file_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The file id to keep as an avatar (None clears it); 422 unless the user may."""
    if file_id is None:
        return None
    if not avatar_choosable(await file_by_id_txn(session, file_id), user_id):
        raise ValidationFailed(
            "avatar: must be the id or URL of an image you uploaded with type=avatar",
            code="invalid_avatar",
        )
    return file_id


class UserService:
    def __init__(self, db: Database, queries: UserQueries, budgets: Budgets) -> None:
        self._db = db
        self._queries = queries
        self._budgets = budgets

    async def update_me(self, user_id: uuid.UUID, changes: UpdateMe) -> Me:
        fields = changes.model_fields_set
        if not fields:
            return await self._queries.get_me(user_id)
        await self._budgets.take(Budget.PROFILE, user_id)
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
                user.avatar_file_id = await chosen_avatar(session, user_id, changes.avatar)
            if "bio" in fields:
                user.bio = changes.bio
            user.updated_at = utcnow()
            online = await self._queries.is_online(user_id)
            urls = self._queries.urls
            emit(session, UserUpdated(user_public(user, online=online, urls=urls)))
        return me_public(user, online=online, urls=urls)

    async def mark_seen(self, user_id: uuid.UUID, when: datetime) -> None:
        async with self._db.write() as session:
            await mark_seen_txn(session, user_id, when)

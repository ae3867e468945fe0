"""The SQL of users: who is active, who shares something with whom, search by name.

Storage, below `hubbub.queries.users` and the actions that check the users they are
given (`hubbub.actions.conversations`, `hubbub.actions.participants`,
`hubbub.actions.spaces`). Each `*_txn` function runs in the session it is given.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Participant, SpaceMember, User


def escape_like(text: str) -> str:
    """Make `%`, `_` and the escape character itself match literally in LIKE."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def active_users_txn(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, User]:
    """The users of `user_ids` whose accounts are active (a missing one does not exist)."""
    if not user_ids:
        return {}
    found = (await session.scalars(select(User).where(User.id.in_(user_ids), User.is_active))).all()
    return {u.id: u for u in found}


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


async def contact_ids_txn(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    """Users who share an ACTIVE conversation or a space with `user_id`."""
    return set((await session.scalars(_CONTACTS, {"user_id": user_id})).all())


async def last_seen_txn(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, datetime | None]]:
    rows = await session.execute(select(User.id, User.last_seen).where(User.id.in_(user_ids)))
    return [(uid, seen) for uid, seen in rows.all()]


async def search_users_txn(
    session: AsyncSession, query: str, limit: int
) -> tuple[Sequence[User], int]:
    """Active users whose username or display name starts with `query` (any case), by
    username; and how many there are in all."""
    pattern = escape_like(query.lower()) + "%"
    condition = or_(
        User.username_key.like(pattern, escape="\\"),
        User.display_name_key.like(pattern, escape="\\"),
    )
    total = await session.scalar(
        select(func.count()).select_from(User).where(condition, User.is_active)
    )
    rows: Sequence[User] = (
        await session.scalars(
            select(User).where(condition, User.is_active).order_by(User.username_key).limit(limit)
        )
    ).all()
    return rows, total or 0


async def mark_seen_txn(session: AsyncSession, user_id: uuid.UUID, when: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_seen=when))


async def other_active_admins_txn(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many active administrators there are besides `user_id`."""
    counted = select(func.count()).where(
        User.is_admin.is_(True),
        User.is_active.is_(True),
        User.deleted_at.is_(None),
        User.id != user_id,
    )
    return int((await session.execute(counted)).scalar_one())

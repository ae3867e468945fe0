"""The server administration's reads and its audit log, in the database.

Actions (`hubbub.actions.admin`) write audit rows inside their own unit of work;
queries (`hubbub.queries.admin`) page users and the log, and count for the statistics.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.models import AdminAudit, Conversation, Message, RefreshToken, StoredFile, User


async def add_audit_txn(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    actor_name: str,
    action: str,
    target: User | None,
    details: dict[str, Any],
    client_address: str | None,
) -> None:
    session.add(
        AdminAudit(
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            target_id=target.id if target is not None else None,
            target_name=target.username if target is not None else None,
            details=details,
            client_address=client_address,
        )
    )
    await session.flush()


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def users_page_txn(
    session: AsyncSession, query: str | None, after: str | None, limit: int
) -> Sequence[User]:
    """Users by lower-cased username, after `after`, matching `query` in their username,
    display name or email."""
    statement = select(User).order_by(User.username_key).limit(limit)
    if query:
        pattern = f"%{_escaped(query.lower())}%"
        statement = statement.where(
            or_(
                User.username_key.like(pattern, escape="\\"),
                User.display_name_key.like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    if after is not None:
        statement = statement.where(User.username_key > after)
    return (await session.scalars(statement)).all()


async def audit_page_txn(
    session: AsyncSession, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[AdminAudit]:
    """The audit log, newest first, before the (time, id) of `before`."""
    statement = (
        select(AdminAudit).order_by(AdminAudit.created_at.desc(), AdminAudit.id.desc()).limit(limit)
    )
    if before is not None:
        statement = statement.where(tuple_(AdminAudit.created_at, AdminAudit.id) < before)
    return (await session.scalars(statement)).all()


async def user_counts_txn(session: AsyncSession, since: datetime) -> tuple[int, int, int, int]:
    """(accounts not deleted, active, deactivated, active since `since`)."""
    live = User.deleted_at.is_(None)
    recent = or_(
        User.last_seen >= since,
        exists().where(and_(RefreshToken.user_id == User.id, RefreshToken.created_at >= since)),
    )
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(User.is_active.is_(True)),
                func.count().filter(User.is_active.is_(False)),
                func.count().filter(recent),
            ).where(live)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def conversation_count_txn(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Conversation)) or 0)


async def messages_between_txn(session: AsyncSession, start: datetime, end: datetime) -> int:
    counted = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.created_at >= start, Message.created_at < end)
    )
    return int(counted or 0)


async def storage_used_txn(session: AsyncSession) -> tuple[int, int]:
    """(files, bytes) of every upload."""
    row = (
        await session.execute(select(func.count(), func.coalesce(func.sum(StoredFile.size), 0)))
    ).one()
    return int(row[0]), int(row[1])

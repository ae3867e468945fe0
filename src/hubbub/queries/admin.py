"""The server administration's reads: who may use it, accounts, sessions, statistics
and the audit log.

Edge (`/admin` routes, `hubbub user ...`, `hubbub audit`) -> here -> the store
(`hubbub.store.admin`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, time, timedelta

from hubbub.domain.account_rules import require_admin, user_not_found
from hubbub.domain.errors import BadRequest
from hubbub.domain.ids import utcnow
from hubbub.queries.conversations import make_cursor, read_cursor
from hubbub.queries.sessions import SessionQueries
from hubbub.store.admin import (
    audit_page_txn,
    conversation_count_txn,
    messages_between_txn,
    storage_used_txn,
    user_counts_txn,
    users_page_txn,
)
from hubbub.store.database import Database
from hubbub.store.models import AdminAudit, User
from hubbub.store.sessions import user_by_username_txn
from hubbub.wire.account import SessionList
from hubbub.wire.admin import (
    AdminUser,
    AdminUserPage,
    AuditEntry,
    AuditPage,
    DayCount,
    ServerStats,
    StorageUsed,
    UserCounts,
)

STATS_DAYS = 14
_NO_SESSION = uuid.UUID(int=0)


def _invalid_cursor() -> BadRequest:
    return BadRequest("Cursor is not one this list gave", code="invalid_cursor")


def _user_cursor(username_key: str) -> str:
    return base64.urlsafe_b64encode(b"u|" + username_key.encode()).decode().rstrip("=")


def _read_user_cursor(cursor: str) -> str:
    try:
        if len(cursor) > 120:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        kind, _, key = raw.decode().partition("|")
    except (ValueError, binascii.Error, UnicodeError):
        raise _invalid_cursor() from None
    if kind != "u" or not key:
        raise _invalid_cursor()
    return key


def admin_user(user: User) -> AdminUser:
    return AdminUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        is_active=user.is_active,
        is_admin=user.is_admin,
        is_deleted=user.deleted_at is not None,
        created_at=user.created_at,
        last_seen_at=user.last_seen,
        is_bot=user.is_bot,
        bot_owner_id=user.bot_owner_id,
    )


def audit_entry(row: AdminAudit) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.created_at,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        action=row.action,
        target_id=row.target_id,
        target_name=row.target_name,
        details=row.details,
        address=row.client_address,
    )


class AdminQueries:
    def __init__(self, db: Database, sessions: SessionQueries) -> None:
        self._db = db
        self._sessions = sessions

    async def require_admin(self, user_id: uuid.UUID) -> None:
        """Is this caller an active server administrator? 404 otherwise."""
        async with self._db.read() as session:
            require_admin(await session.get(User, user_id))

    async def users(self, query: str | None, cursor: str | None, limit: int) -> AdminUserPage:
        after = _read_user_cursor(cursor) if cursor is not None else None
        async with self._db.read() as session:
            rows = await users_page_txn(session, query, after, limit + 1)
        page = rows[:limit]
        more = len(rows) > limit
        return AdminUserPage(
            users=[admin_user(u) for u in page],
            next_cursor=_user_cursor(page[-1].username_key) if more else None,
        )

    async def user(self, user_id: uuid.UUID) -> AdminUser:
        async with self._db.read() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise user_not_found()
        return admin_user(user)

    async def user_by_username(self, username: str) -> AdminUser:
        async with self._db.read() as session:
            user = await user_by_username_txn(session, username)
        if user is None:
            raise user_not_found()
        return admin_user(user)

    async def sessions(self, user_id: uuid.UUID) -> SessionList:
        await self.user(user_id)
        return await self._sessions.of_user(user_id, _NO_SESSION)

    async def stats(self) -> ServerStats:
        now = utcnow()
        today = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
        days = [today - timedelta(days=back) for back in range(STATS_DAYS - 1, -1, -1)]
        async with self._db.read() as session:
            total, active, deactivated, recent = await user_counts_txn(
                session, now - timedelta(hours=24)
            )
            conversations = await conversation_count_txn(session)
            per_day = [
                DayCount(
                    day=day.date(),
                    messages=await messages_between_txn(session, day, day + timedelta(days=1)),
                )
                for day in days
            ]
            files, used = await storage_used_txn(session)
        return ServerStats(
            users=UserCounts(
                total=total, active=active, deactivated=deactivated, active_last_day=recent
            ),
            conversations=conversations,
            messages_per_day=per_day,
            storage=StorageUsed(files=files, bytes=used),
        )

    async def audit(self, cursor: str | None, limit: int) -> AuditPage:
        before = read_cursor(cursor) if cursor is not None else None
        async with self._db.read() as session:
            rows = await audit_page_txn(session, before, limit + 1)
        page = rows[:limit]
        more = len(rows) > limit
        return AuditPage(
            entries=[audit_entry(r) for r in page],
            next_cursor=make_cursor(page[-1].created_at, page[-1].id) if more else None,
        )

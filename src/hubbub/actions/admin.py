"""Server administration: deactivating and reactivating accounts, naming administrators.

Edge (`/admin` routes, the `hubbub` terminal commands) -> here -> the store; events
after commit. Deactivation ends every session of the account and, through the
`AccountClosed` event, cuts every socket of it on every node as soon as it commits;
the account's messages stay, it cannot sign in, and user search no longer finds it.
The terminal is the server's operator and needs no administrator account.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.account_rules import require_can_change_status
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import utcnow
from hubbub.events.catalog import AccountClosed
from hubbub.store.database import Database
from hubbub.store.models import User
from hubbub.store.sessions import (
    add_revoked_txn,
    live_families_txn,
    revoke_family_txn,
    session_key,
    user_by_username_txn,
)
from hubbub.store.unit import emit
from hubbub.wire.admin import AccountStatus


def _user_not_found() -> NotFound:
    return NotFound("User not found", code="user_not_found")


class AccountAdmin:
    def __init__(self, db: Database, *, access_ttl: timedelta) -> None:
        self._db = db
        self._access_ttl = access_ttl

    async def set_active(
        self, actor_id: uuid.UUID, user_id: uuid.UUID, *, active: bool
    ) -> AccountStatus:
        """An administrator's change (the admin API)."""
        async with self._db.write() as session:
            actor = await session.get(User, actor_id)
            target = await session.get(User, user_id, with_for_update=True)
            if actor is None or target is None or target.deleted_at is not None:
                raise _user_not_found()
            require_can_change_status(actor, target)
            await self._apply(session, target, active=active)
        return _status(target)

    async def set_active_by_username(self, username: str, *, active: bool) -> AccountStatus:
        """The operator's change, from the terminal."""

        async def change(session: AsyncSession, target: User) -> None:
            await self._apply(session, target, active=active)

        return await self._by_username(username, change)

    async def set_admin_by_username(self, username: str, *, admin: bool) -> AccountStatus:
        """Name (or un-name) a server administrator, from the terminal."""

        async def change(session: AsyncSession, target: User) -> None:
            target.is_admin = admin
            target.updated_at = utcnow()

        return await self._by_username(username, change)

    async def _by_username(
        self, username: str, change: Callable[[AsyncSession, User], Awaitable[None]]
    ) -> AccountStatus:
        async with self._db.write() as session:
            target = await user_by_username_txn(session, username)
            if target is None or target.deleted_at is not None:
                raise _user_not_found()
            await change(session, target)
        return _status(target)

    async def _apply(self, session: AsyncSession, user: User, *, active: bool) -> None:
        if user.is_active == active:
            return  # changes nothing, ends nothing
        now = utcnow()
        user.is_active = active
        user.updated_at = now
        if active:
            return  # the account signs in again; its old sessions stay ended
        for family in await live_families_txn(session, user.id):
            await revoke_family_txn(session, family, now)
            await add_revoked_txn(session, session_key(family), user.id, now + self._access_ttl)
        emit(session, AccountClosed(user.id))


def _status(user: User) -> AccountStatus:
    return AccountStatus(
        user_id=user.id, username=user.username, is_active=user.is_active, is_admin=user.is_admin
    )

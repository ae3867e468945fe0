"""Server administration: deactivating and reactivating accounts, ending their
sessions, naming administrators; each recorded in the audit log.

Edge (`/admin` routes, the `hubbub` terminal commands) -> here -> the store; events
after commit. Deactivation ends every session of the account and, through the
`AccountClosed` event, cuts every socket of it on every node as soon as it commits;
the account's messages stay, it cannot sign in, and user search no longer finds it.
The terminal is the server's operator and needs no administrator account.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.audit import Actor, record
from hubbub.actions.auth import AuthService
from hubbub.domain.account_rules import (
    require_can_change_status,
    require_can_end_sessions,
    require_not_last_admin,
    user_not_found,
)
from hubbub.domain.ids import utcnow
from hubbub.events.catalog import AccountClosed
from hubbub.store.database import Database
from hubbub.store.models import User
from hubbub.store.sessions import (
    user_by_username_txn,
)
from hubbub.store.unit import emit
from hubbub.store.users import other_active_admins_txn
from hubbub.wire.account import SessionsEnded
from hubbub.wire.admin import AccountStatus

Change = Callable[[AsyncSession, User], Awaitable[None]]


class AccountAdmin:
    def __init__(self, db: Database, auth: AuthService) -> None:
        self._db = db
        self._auth = auth

    async def set_active(self, actor: Actor, user_id: uuid.UUID, *, active: bool) -> AccountStatus:
        """An administrator's change (the admin API)."""
        async with self._db.write() as session:
            admin, target = await self._actor_and_target(session, actor, user_id)
            require_can_change_status(admin, target)
            await self._apply(session, target, active=active)
            await record(session, actor, admin, "reactivate" if active else "deactivate", target)
        return status_of(target)

    async def logout_all(self, actor: Actor, user_id: uuid.UUID) -> SessionsEnded:
        """End every session of the account; its sockets are cut on every node."""
        async with self._db.write() as session:
            admin, target = await self._actor_and_target(session, actor, user_id)
            require_can_end_sessions(admin)
            ended = await self._end_all(session, target)
            await record(session, actor, admin, "logout_all", target, details={"ended": ended})
        return SessionsEnded(ended=ended)

    async def logout_all_by_username(self, username: str) -> SessionsEnded:
        """The operator's "log out everywhere" for an account, from the terminal."""
        ended = 0

        async def change(session: AsyncSession, target: User) -> None:
            nonlocal ended
            ended = await self._end_all(session, target)
            await record(
                session, Actor.terminal(), None, "logout_all", target, details={"ended": ended}
            )

        await self._by_username(username, change)
        return SessionsEnded(ended=ended)

    async def set_password_by_username(self, username: str, password_hash: str) -> SessionsEnded:
        """The operator sets an account's password (hashed by the caller); every session
        of the account ends, its sockets are cut on every node."""
        ended = 0

        async def change(session: AsyncSession, target: User) -> None:
            nonlocal ended
            target.password_hash = password_hash
            target.updated_at = utcnow()
            ended = await self._end_all(session, target)
            await record(session, Actor.terminal(), None, "set_password", target)

        await self._by_username(username, change)
        return SessionsEnded(ended=ended)

    async def set_active_by_username(self, username: str, *, active: bool) -> AccountStatus:
        """The operator's change, from the terminal."""

        async def change(session: AsyncSession, target: User) -> None:
            await self._apply(session, target, active=active)
            action = "reactivate" if active else "deactivate"
            await record(session, Actor.terminal(), None, action, target)

        return await self._by_username(username, change)

    async def set_admin_by_username(self, username: str, *, admin: bool) -> AccountStatus:
        """Name (or un-name) a server administrator, from the terminal."""

        async def change(session: AsyncSession, target: User) -> None:
            if not admin:
                require_not_last_admin(target, await other_active_admins_txn(session, target.id))
            target.is_admin = admin
            target.updated_at = utcnow()
            await record(session, Actor.terminal(), None, "promote" if admin else "demote", target)

        return await self._by_username(username, change)

    async def _actor_and_target(
        self, session: AsyncSession, actor: Actor, user_id: uuid.UUID
    ) -> tuple[User, User]:
        admin = await session.get(User, actor.user_id) if actor.user_id is not None else None
        target = await session.get(User, user_id, with_for_update=True)
        if admin is None or target is None or target.deleted_at is not None:
            raise user_not_found()
        return admin, target

    async def _by_username(self, username: str, change: Change) -> AccountStatus:
        async with self._db.write() as session:
            target = await user_by_username_txn(session, username)
            if target is None or target.deleted_at is not None:
                raise user_not_found()
            await change(session, target)
        return status_of(target)

    async def _end_all(self, session: AsyncSession, user: User) -> int:
        return await self._auth.end_every_session(session, user.id, utcnow())

    async def _apply(self, session: AsyncSession, user: User, *, active: bool) -> None:
        if user.is_active == active:
            return  # changes nothing, ends nothing
        if not active:
            require_not_last_admin(user, await other_active_admins_txn(session, user.id))
        now = utcnow()
        user.is_active = active
        user.updated_at = now
        if active:
            return  # the account signs in again; its old sessions stay ended
        await self._auth.end_every_session(session, user.id, now)
        emit(session, AccountClosed(user.id))


def status_of(user: User) -> AccountStatus:
    return AccountStatus(
        user_id=user.id, username=user.username, is_active=user.is_active, is_admin=user.is_admin
    )

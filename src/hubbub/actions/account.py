"""A user's own account: password, email and sessions.

Edge (`/users/me/...`) -> here -> the store. Every change that could hand the account
to someone else asks for the password again (`AuthService.check_own_password`: a wrong
one counts as a failed login). A password change ends every other session of the user
and keeps the caller's; ending sessions emits `SessionEnded` for each, so their sockets
are cut on every node once the change commits.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.auth import AuthService, Principal
from hubbub.actions.budgets import Budgets
from hubbub.config import Budget
from hubbub.domain.account_rules import user_not_found
from hubbub.domain.errors import Conflict, NotFound
from hubbub.domain.ids import utcnow
from hubbub.queries.users import me_public
from hubbub.security.passwords import Passwords
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.models import User
from hubbub.store.password_resets import user_by_email_txn
from hubbub.store.sessions import live_families_txn, owns_live_session_txn
from hubbub.wire.account import ChangeEmailRequest, ChangePasswordRequest, SessionsEnded
from hubbub.wire.models import Me


def _email_taken() -> Conflict:
    return Conflict("Email already registered", code="email_taken")


class AccountService:
    def __init__(
        self,
        db: Database,
        auth: AuthService,
        passwords: Passwords,
        budgets: Budgets,
        *,
        urls: FileUrlSigner,
    ) -> None:
        self._db = db
        self._urls = urls
        self._auth = auth
        self._passwords = passwords
        self._budgets = budgets

    async def verified_user(self, principal: Principal, password: str, client_address: str) -> User:
        """The caller's account, once they have typed its password again."""
        await self._budgets.take(Budget.PASSWORD_CHANGE, principal.user_id)
        async with self._db.read() as session:
            user = await session.get(User, principal.user_id)
        if user is None or not user.is_active:
            raise user_not_found()
        await self._auth.check_own_password(
            user.username, user.password_hash, password, client_address
        )
        return user

    async def change_password(
        self, principal: Principal, req: ChangePasswordRequest, client_address: str
    ) -> SessionsEnded:
        await self.verified_user(principal, req.current_password, client_address)
        new_hash = await self._passwords.hash(req.new_password)
        async with self._db.write() as session:
            user = await session.get(User, principal.user_id, with_for_update=True)
            if user is None or not user.is_active:
                raise user_not_found()
            user.password_hash = new_hash
            user.updated_at = utcnow()
            ended = await self._end_others(session, principal)
        return SessionsEnded(ended=ended)

    async def change_email(
        self, principal: Principal, req: ChangeEmailRequest, client_address: str
    ) -> Me:
        await self.verified_user(principal, req.password, client_address)
        email = str(req.email).lower()
        try:
            async with self._db.write() as session:
                user = await session.get(User, principal.user_id, with_for_update=True)
                if user is None or not user.is_active:
                    raise user_not_found()
                if user.email != email:
                    holder = await user_by_email_txn(session, email)
                    if holder is not None:
                        raise _email_taken()
                    user.email = email
                    user.updated_at = utcnow()
        except IntegrityError:
            raise _email_taken() from None  # another account took it meanwhile
        return me_public(user, online=True, urls=self._urls)

    async def end_session(self, principal: Principal, session_id: uuid.UUID) -> None:
        """End one of the caller's sessions (the current one too, like logging out)."""
        async with self._db.write() as session:
            if not await owns_live_session_txn(session, principal.user_id, session_id):
                raise NotFound("Session not found", code="session_not_found")
            await self._auth.end_session(session, principal.user_id, session_id, utcnow())

    async def end_other_sessions(self, principal: Principal) -> SessionsEnded:
        """Log out everywhere but here."""
        async with self._db.write() as session:
            ended = await self._end_others(session, principal)
        return SessionsEnded(ended=ended)

    async def _end_others(self, session: AsyncSession, principal: Principal) -> int:
        now = utcnow()
        others = [
            family
            for family in await live_families_txn(session, principal.user_id)
            if family != principal.session_id
        ]
        for family in others:
            await self._auth.end_session(session, principal.user_id, family, now)
        return len(others)

"""Password reset: by an emailed link, or by a link an administrator hands over.

Edge (`/auth/password-reset`, `/admin/users/{id}/reset-link`, `hubbub reset-link`) ->
here -> the store. A reset token is random, stored hashed (SHA-256, as refresh tokens),
lives HUBBUB_PASSWORD_RESET_TTL_S and is used once; using it sets the password, spends
every other reset token of the account and ends every session of it (sockets cut on
every node). A request answers the same whether or not the address has an account; the
email leaves after the commit, in the background, and a failure to send is logged
(never the token) without changing the answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.audit import Actor, record
from hubbub.actions.auth import AuthService
from hubbub.actions.budgets import Budgets
from hubbub.actions.mail import Mailer
from hubbub.config import Budget
from hubbub.domain.account_rules import require_can_issue_reset_link, user_not_found
from hubbub.domain.errors import BadRequest, RateLimited
from hubbub.domain.ids import new_id, utcnow
from hubbub.security.passwords import Passwords
from hubbub.security.tokens import hash_refresh_token, new_refresh_token
from hubbub.store.database import Database
from hubbub.store.models import PasswordResetToken, User
from hubbub.store.password_resets import (
    claim_reset_token_txn,
    reset_token_txn,
    spend_reset_tokens_txn,
    user_by_email_txn,
)
from hubbub.store.sessions import user_by_username_txn
from hubbub.wire.account import ResetLink

log = logging.getLogger("hubbub.password_reset")


def _invalid() -> BadRequest:
    return BadRequest("This reset link is not valid", code="invalid_reset_token")


class PasswordResets:
    def __init__(
        self,
        db: Database,
        auth: AuthService,
        passwords: Passwords,
        budgets: Budgets,
        *,
        ttl_s: int,
        public_url: str,
        mailer: Mailer | None,
    ) -> None:
        self._db = db
        self._auth = auth
        self._passwords = passwords
        self._budgets = budgets
        self._ttl = timedelta(seconds=ttl_s)
        self._public_url = public_url.rstrip("/")
        self._mailer = mailer
        self._sending: set[asyncio.Task[None]] = set()

    # Asking -------------------------------------------------------------------------

    async def request(self, email: str, client_address: str) -> None:
        """Email a reset link to the account with this address, if there is one."""
        await self._budgets.take(Budget.PASSWORD_RESET_ADDRESS, client_address)
        async with self._db.read() as session:
            user = await user_by_email_txn(session, email.lower())
        if user is None or not user.is_active or user.deleted_at is not None:
            return
        if self._mailer is None:
            log.info("password reset asked for user %s; no SMTP configured", user.id)
            return
        try:
            # Refused silently: a 429 here would tell that the account exists.
            await self._budgets.take(Budget.PASSWORD_RESET_ACCOUNT, user.id)
        except RateLimited:
            log.info("password reset for user %s refused: too many for the account", user.id)
            return
        async with self._db.write() as session:
            link = await self._issue(session, user.id)
        self._in_background(self._send(self._mailer, user, link))

    async def issue_link(self, actor: Actor, user_id: uuid.UUID) -> ResetLink:
        """An administrator's one-time link for a user (the admin API)."""
        async with self._db.write() as session:
            admin = await session.get(User, actor.user_id) if actor.user_id else None
            target = await session.get(User, user_id)
            if admin is None or target is None or target.deleted_at is not None:
                raise user_not_found()
            require_can_issue_reset_link(admin, target)
            await record(session, actor, admin, "reset_link", target)
            return await self._issue(session, target.id)

    async def issue_link_by_username(self, username: str) -> ResetLink:
        """The operator's one-time link for a user, from the terminal."""
        async with self._db.write() as session:
            target = await user_by_username_txn(session, username)
            if target is None or target.deleted_at is not None:
                raise user_not_found()
            await record(session, Actor.terminal(), None, "reset_link", target)
            return await self._issue(session, target.id)

    # Using --------------------------------------------------------------------------

    async def confirm(self, token: str, new_password: str, client_address: str) -> None:
        # Per address, as requests: guessing tokens is slow, and each try costs a lookup.
        await self._budgets.take(Budget.PASSWORD_RESET_ADDRESS, client_address)
        now = utcnow()
        async with self._db.read() as session:
            row = await reset_token_txn(session, hash_refresh_token(token))
        if row is None:
            raise _invalid()
        if row.used_at is not None:
            raise BadRequest("This reset link has already been used", code="reset_token_used")
        if row.expires_at <= now:
            raise BadRequest("This reset link has expired", code="reset_token_expired")
        new_hash = await self._passwords.hash(new_password)
        async with self._db.write() as session:
            if not await claim_reset_token_txn(session, row.id, now):
                raise BadRequest("This reset link has already been used", code="reset_token_used")
            user = await session.get(User, row.user_id, with_for_update=True)
            if user is None or not user.is_active or user.deleted_at is not None:
                raise _invalid()
            user.password_hash = new_hash
            user.updated_at = now
            await spend_reset_tokens_txn(session, user.id, now)
            await self._auth.end_every_session(session, user.id, now)

    # Internals ----------------------------------------------------------------------

    async def _issue(self, session: AsyncSession, user_id: uuid.UUID) -> ResetLink:
        token = new_refresh_token()
        now = utcnow()
        expires = now + self._ttl
        session.add(
            PasswordResetToken(
                id=new_id(),
                user_id=user_id,
                token_hash=hash_refresh_token(token),
                created_at=now,
                expires_at=expires,
            )
        )
        # In the fragment: browsers never send it, so it stays out of every access log.
        link = f"{self._public_url}/#/reset-password?token={token}"
        return ResetLink(user_id=user_id, link=link, expires_at=expires)

    async def _send(self, mailer: Mailer, user: User, link: ResetLink) -> None:
        minutes = int(self._ttl.total_seconds() // 60)
        body = (
            f"Someone, hopefully you, asked to reset the password of the hubbub account "
            f"{user.username}.\n\n"
            f"Open this link within {minutes} minutes to choose a new password:\n\n"
            f"{link.link}\n\n"
            "The link works once. If you did not ask for it, ignore this email: your "
            "password stays as it is.\n"
        )
        try:
            await mailer.send(user.email, "Reset your hubbub password", body)
        except Exception as exc:  # any failure: logged, the request's answer stands
            # The kind of failure and the server's reply code: never the message or link.
            log.warning(
                "password reset email for user %s not sent: %s %s",
                user.id,
                type(exc).__name__,
                getattr(exc, "code", ""),
            )

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def close(self) -> None:
        """Let the emails on their way finish (for a while), then stop."""
        if self._sending:
            _, pending = await asyncio.wait(set(self._sending), timeout=10)
            for task in pending:
                task.cancel()

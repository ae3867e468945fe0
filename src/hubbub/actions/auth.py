"""Accounts and sessions: register, login, refresh, logout, and token authentication.

Edge -> here -> the store (`hubbub.store.sessions`). A session is a refresh-token
family; its id is the `sid` of every access token issued in it. Revocation is by `jti`
(one access token) or by `sid` (a whole session), recorded in `revoked_tokens`;
`authenticate` checks both on every call, together with the user row, in one query.
Ending a session emits `session_revoked` on its commit, so the hub of every node cuts
that session's sockets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.errors import Conflict, InvalidCredentials, RateLimited, Unauthorized
from hubbub.domain.ids import new_id, utcnow
from hubbub.events.catalog import SessionEnded
from hubbub.queries.users import me_public
from hubbub.realtime.limits import RateLimiter
from hubbub.security.passwords import Passwords
from hubbub.security.tokens import (
    AccessClaims,
    InvalidToken,
    TokenSigner,
    hash_refresh_token,
    new_refresh_token,
)
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.models import RefreshToken, User
from hubbub.store.sessions import (
    add_revoked_txn,
    claim_refresh_token_txn,
    names_taken_txn,
    principal_txn,
    refresh_token_txn,
    revoke_family_txn,
    session_key,
    set_password_hash_txn,
    user_by_login_txn,
)
from hubbub.store.unit import emit
from hubbub.wire.models import (
    AuthResult,
    Me,
    RegisterRequest,
    TokenPair,
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an authenticated, active user and the session of its token."""

    user_id: uuid.UUID
    username: str
    session_id: uuid.UUID
    jti: str
    token_expires_at: datetime


@dataclass(frozen=True)
class LoginLimits:
    per_account: int
    per_address: int
    window_s: int


class AuthService:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        signer: TokenSigner,
        limiter: RateLimiter,
        *,
        refresh_ttl_s: int,
        login_limits: LoginLimits,
        urls: FileUrlSigner,
    ) -> None:
        self._urls = urls
        self._db = db
        self._passwords = passwords
        self._signer = signer
        self._limiter = limiter
        self._refresh_ttl = timedelta(seconds=refresh_ttl_s)
        self._limits = login_limits

    # Accounts ------------------------------------------------------------------------

    async def register(self, req: RegisterRequest) -> AuthResult:
        email = str(req.email).lower()
        username_key = req.username.lower()
        password_hash = await self._passwords.hash(req.password)
        try:
            async with self._db.write() as session:
                taken = await names_taken_txn(session, username_key, email)
                _raise_if_taken(taken, username_key)
                user = User(
                    id=new_id(),
                    username=req.username,
                    username_key=username_key,
                    email=email,
                    password_hash=password_hash,
                    display_name=req.display_name,
                    display_name_key=req.display_name.lower() if req.display_name else None,
                    is_active=True,
                )
                session.add(user)
                await session.flush()
                token, refresh = await self._start_session(session, user.id)
        except IntegrityError:
            # Two registrations raced past the check; the constraint decided.
            raise Conflict("Username or email already taken", code="account_taken") from None
        return AuthResult(
            user=me_public(user, online=False, urls=self._urls), token=token, refresh_token=refresh
        )

    async def create_user(
        self, username: str, email: str, password: str, display_name: str | None = None
    ) -> Me:
        """The terminal's `createuser`: same validation and storage as registration."""
        req = RegisterRequest.model_validate(
            {
                "username": username,
                "email": email,
                "password": password,
                "displayName": display_name,
            }
        )
        return (await self.register(req)).user

    # Sessions ------------------------------------------------------------------------

    async def login(self, identifier: str, password: str, client_address: str) -> AuthResult:
        address_key = "login:addr:" + client_address
        await self._check_login_limit(address_key, self._limits.per_address)
        lookup = identifier.strip().lower()
        async with self._db.read() as session:
            user = await user_by_login_txn(session, lookup)
        # Counted per account whichever name it is addressed by; an unknown name is
        # counted the same way, so the limit reveals nothing about who exists.
        account_key = "login:acct:" + (str(user.id) if user is not None else lookup)
        await self._check_login_limit(account_key, self._limits.per_account)
        # Verified against a dummy hash when there is no such user: same answer, same time.
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            await self._limiter.add_failure(account_key, self._limits.window_s)
            await self._limiter.add_failure(address_key, self._limits.window_s)
            raise InvalidCredentials()
        await self._limiter.clear(account_key)

        new_hash = (
            await self._passwords.hash(password)
            if self._passwords.needs_rehash(user.password_hash)
            else None
        )
        async with self._db.write() as session:
            if new_hash is not None:
                await set_password_hash_txn(session, user.id, new_hash)
            token, refresh = await self._start_session(session, user.id)
        return AuthResult(
            user=me_public(user, online=False, urls=self._urls), token=token, refresh_token=refresh
        )

    async def _check_login_limit(self, key: str, limit: int) -> None:
        failures, retry_after = await self._limiter.failures(key)
        if failures >= limit:
            raise RateLimited(retry_after, "Too many failed login attempts; try again later")

    async def refresh(self, refresh_token: str) -> TokenPair:
        token_hash = hash_refresh_token(refresh_token)
        now = utcnow()
        reused_family: uuid.UUID | None = None
        async with self._db.write() as session:
            row = await refresh_token_txn(session, token_hash)
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise Unauthorized("Invalid refresh token", code="invalid_refresh_token")
            if not await claim_refresh_token_txn(session, row.id, now):
                reused_family = row.family_id
                await self._revoke_session(session, row.user_id, row.family_id, now)
            else:
                user = await session.get(User, row.user_id)
                if user is None or not user.is_active:
                    raise Unauthorized("Invalid refresh token", code="invalid_refresh_token")
                token, refresh = await self._issue(session, row.user_id, row.family_id, now)
        if reused_family is not None:
            raise Unauthorized(
                "Refresh token already used; the session has been revoked",
                code="refresh_token_reused",
            )
        return TokenPair(token=token, refresh_token=refresh)

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        now = utcnow()
        families = {principal.session_id}
        async with self._db.write() as session:
            if refresh_token is not None:
                row = await refresh_token_txn(
                    session, hash_refresh_token(refresh_token), user_id=principal.user_id
                )
                if row is not None:
                    families.add(row.family_id)
            await add_revoked_txn(
                session, principal.jti, principal.user_id, principal.token_expires_at
            )
            for family in families:
                await self._revoke_session(session, principal.user_id, family, now)

    async def authenticate(self, token: str) -> Principal:
        try:
            claims = self._signer.verify_access(token)
        except InvalidToken:
            raise Unauthorized("Invalid or expired token", code="invalid_token") from None
        return await self._principal(claims)

    async def _principal(self, claims: AccessClaims) -> Principal:
        async with self._db.read() as session:
            row = await principal_txn(session, claims.user_id, claims.jti, claims.session_id)
        if row is None or not row.is_active or row.revoked:
            raise Unauthorized("Invalid or expired token", code="invalid_token")
        return Principal(
            user_id=row.id,
            username=row.username,
            session_id=claims.session_id,
            jti=claims.jti,
            token_expires_at=claims.expires_at,
        )

    # Internals -----------------------------------------------------------------------

    async def _start_session(self, session: AsyncSession, user_id: uuid.UUID) -> tuple[str, str]:
        return await self._issue(session, user_id, new_id(), utcnow())

    async def _issue(
        self, session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID, now: datetime
    ) -> tuple[str, str]:
        refresh = new_refresh_token()
        session.add(
            RefreshToken(
                id=new_id(),
                user_id=user_id,
                family_id=family_id,
                token_hash=hash_refresh_token(refresh),
                created_at=now,
                expires_at=now + self._refresh_ttl,
            )
        )
        token, _ = self._signer.issue_access(user_id, family_id, now=now)
        return token, refresh

    async def _revoke_session(
        self, session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID, now: datetime
    ) -> None:
        await revoke_family_txn(session, family_id, now)
        # Every access token of the session dies with it (checked by `sid`), and every
        # socket of it is cut, on every node, once this commits.
        expires = now + self._signer.access_ttl
        await add_revoked_txn(session, session_key(family_id), user_id, expires)
        emit(session, SessionEnded(family_id))


def _raise_if_taken(taken: Sequence[Row[str, str]], username_key: str) -> None:
    if not taken:
        return
    if any(row[0] == username_key for row in taken):
        raise Conflict("Username already taken", code="username_taken")
    raise Conflict("Email already registered", code="email_taken")

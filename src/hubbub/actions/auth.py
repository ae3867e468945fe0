"""Accounts and sessions: register, login, refresh, logout, and token authentication.

Edge -> here -> the store (`hubbub.store.sessions`). A session is a refresh-token
family; its id is the `sid` of every access token issued in it. Revocation is by `jti`
(one access token) or by `sid` (a whole session), recorded in `revoked_tokens`;
`authenticate` checks both on every call, together with the user row, in one query.
Ending a session emits `session_revoked` on its commit, so the hub of every node cuts
that session's sockets.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.budgets import Budgets
from hubbub.actions.principal import Principal, token_principal
from hubbub.config import Budget
from hubbub.domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidCredentials,
    RateLimited,
    Unauthorized,
)
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.token_rules import Scope, scope_refusal
from hubbub.events.catalog import SessionEnded
from hubbub.queries.users import me_public
from hubbub.realtime.limits import RateLimiter
from hubbub.security.passwords import Passwords
from hubbub.security.tokens import (
    API_TOKEN_PREFIX,
    AccessClaims,
    InvalidToken,
    TokenSigner,
    hash_refresh_token,
    new_refresh_token,
)
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.handshake_reads import principal_row
from hubbub.store.models import RefreshToken, User
from hubbub.store.sessions import (
    add_revoked_txn,
    claim_refresh_token_txn,
    live_families_txn,
    names_taken_txn,
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
class Device:
    """Where a login or refresh came from: shown in the user's list of sessions."""

    user_agent: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per window: for one name from one address (`per_name`), for
    one address whatever the name, and for one name from every address."""

    per_name: int
    per_address: int
    per_name_anywhere: int
    window_s: int


class AuthService:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        signer: TokenSigner,
        limiter: RateLimiter,
        budgets: Budgets,
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
        self._budgets = budgets
        self._refresh_ttl = timedelta(seconds=refresh_ttl_s)
        self._limits = login_limits

    # Accounts ------------------------------------------------------------------------

    async def register(
        self, req: RegisterRequest, client_address: str, user_agent: str | None = None
    ) -> AuthResult:
        # Unauthenticated, and each one an Argon2 hash: per address, and for everyone.
        await self._budgets.take(Budget.REGISTER_ADDRESS, client_address)
        await self._budgets.take(Budget.REGISTER, "all")
        return await self._register(req, Device(user_agent, client_address))

    async def _register(self, req: RegisterRequest, device: Device | None = None) -> AuthResult:
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
                token, refresh = await self._start_session(session, user.id, device)
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
        return (await self._register(req)).user

    # Sessions ------------------------------------------------------------------------

    async def login(
        self, identifier: str, password: str, client_address: str, user_agent: str | None = None
    ) -> AuthResult:
        lookup = identifier.strip().lower()
        # Failures are counted by the name as typed, never by the account it names: the
        # answer is the same whether the name is a username, an email or nobody's, and
        # an account's other name is not affected. Counted per (name, address), per
        # address and, more slowly, per name from anywhere: a stranger guessing from one
        # address is stopped there, and the user signs in from their own.
        keys = _login_keys(lookup, client_address)
        await self._refuse_if_locked(keys)
        async with self._db.read() as session:
            user = await user_by_login_txn(session, lookup)
        # Verified against a dummy hash when there is no such user: same answer, same time.
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or user.is_bot or not ok:  # a bot has no password to log in with
            await self._count_failure(keys)
            raise InvalidCredentials()
        if not user.is_active:  # said only to who knows the password
            raise Forbidden("This account has been deactivated", code="account_deactivated")
        name_here, _, name_anywhere = keys
        await self._limiter.clear(name_here)
        await self._limiter.clear(name_anywhere)

        new_hash = (
            await self._passwords.hash(password)
            if self._passwords.needs_rehash(user.password_hash)
            else None
        )
        async with self._db.write() as session:
            if new_hash is not None:
                await set_password_hash_txn(session, user.id, new_hash)
            token, refresh = await self._start_session(
                session, user.id, Device(user_agent, client_address)
            )
        return AuthResult(
            user=me_public(user, online=False, urls=self._urls), token=token, refresh_token=refresh
        )

    async def check_own_password(
        self, username: str, password_hash: str, password: str, client_address: str
    ) -> None:
        """A signed-in user's password, asked again before a change to their account: a
        wrong one is counted as a failed login by their username from this address."""
        keys = _login_keys(username.lower(), client_address)
        await self._refuse_if_locked(keys)
        if not await self._passwords.verify(password_hash, password):
            await self._count_failure(keys)
            raise Forbidden("The password is not correct", code="wrong_password")

    async def _refuse_if_locked(self, keys: tuple[str, str, str]) -> None:
        for key, limit in zip(keys, self._login_thresholds(), strict=True):
            failures, retry_after = await self._limiter.failures(key)
            if failures >= limit:
                raise RateLimited(retry_after, "Too many failed login attempts; try again later")

    async def _count_failure(self, keys: tuple[str, str, str]) -> None:
        for key in keys:
            await self._limiter.add_failure(key, self._limits.window_s)

    def _login_thresholds(self) -> tuple[int, int, int]:
        limits = self._limits
        return limits.per_name, limits.per_address, limits.per_name_anywhere

    async def refresh(self, refresh_token: str, device: Device | None = None) -> TokenPair:
        token_hash = hash_refresh_token(refresh_token)
        now = utcnow()
        reused_family: uuid.UUID | None = None
        async with self._db.write() as session:
            row = await refresh_token_txn(session, token_hash)
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise Unauthorized("Invalid refresh token", code="invalid_refresh_token")
            if not await claim_refresh_token_txn(session, row.id, now):
                reused_family = row.family_id
                await self.end_session(session, row.user_id, row.family_id, now)
            else:
                user = await session.get(User, row.user_id)
                if user is None or not user.is_active:
                    raise Unauthorized("Invalid refresh token", code="invalid_refresh_token")
                token, refresh = await self._issue(session, row.user_id, row.family_id, now, device)
        if reused_family is not None:
            raise Unauthorized(
                "Refresh token already used; the session has been revoked",
                code="refresh_token_reused",
            )
        return TokenPair(token=token, refresh_token=refresh)

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        if principal.api_token:
            raise BadRequest("An API token is revoked, not logged out", code="api_token_logout")
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
                await self.end_session(session, principal.user_id, family, now)

    async def authenticate(self, token: str, needed: Scope = Scope.MANAGE) -> Principal:
        """The principal of an access token or an API token, if it holds the `needed`
        scope (a login's session holds every scope)."""
        if token.startswith(API_TOKEN_PREFIX):
            principal = await token_principal(self._db, token)
        else:
            try:
                claims = self._signer.verify_access(token)
            except InvalidToken:
                raise Unauthorized("Invalid or expired token", code="invalid_token") from None
            principal = await self._principal(claims)
        if refusal := scope_refusal(principal.scopes, needed):
            raise refusal
        return principal

    async def _principal(self, claims: AccessClaims) -> Principal:
        row = await principal_row(
            self._db.driver_reads, claims.user_id, claims.jti, claims.session_id
        )
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

    async def _start_session(
        self, session: AsyncSession, user_id: uuid.UUID, device: Device | None
    ) -> tuple[str, str]:
        return await self._issue(session, user_id, new_id(), utcnow(), device)

    async def _issue(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        family_id: uuid.UUID,
        now: datetime,
        device: Device | None,
    ) -> tuple[str, str]:
        device = device or Device()
        refresh = new_refresh_token()
        session.add(
            RefreshToken(
                id=new_id(),
                user_id=user_id,
                family_id=family_id,
                token_hash=hash_refresh_token(refresh),
                created_at=now,
                expires_at=now + self._refresh_ttl,
                user_agent=device.user_agent[:300] if device.user_agent else None,
                client_address=device.address[:64] if device.address else None,
            )
        )
        token, _ = self._signer.issue_access(user_id, family_id, now=now)
        return token, refresh

    async def end_session(
        self, session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID, now: datetime
    ) -> None:
        """End a session inside the caller's unit of work: its tokens, and its sockets
        on every node once that commits."""
        await revoke_family_txn(session, family_id, now)
        # Every access token of the session dies with it (checked by `sid`), and every
        # socket of it is cut, on every node, once this commits.
        expires = now + self._signer.access_ttl
        await add_revoked_txn(session, session_key(family_id), user_id, expires)
        emit(session, SessionEnded(family_id))

    async def end_every_session(
        self, session: AsyncSession, user_id: uuid.UUID, now: datetime
    ) -> int:
        """End every live session of the user (`end_session` each); how many."""
        families = await live_families_txn(session, user_id)
        for family in families:
            await self.end_session(session, user_id, family, now)
        return len(families)


# `Principal` lives beside the API tokens' principal; callers keep importing it from here.
__all__ = ["AuthService", "Device", "LoginLimits", "Principal"]


def _login_keys(name: str, address: str) -> tuple[str, str, str]:
    """(name from this address, this address, name from anywhere): the failure windows."""
    name_key = hashlib.sha256(name.encode()).hexdigest()[:32]
    return (
        f"login:name-addr:{name_key}:{address}",
        f"login:addr:{address}",
        f"login:name:{name_key}",
    )


def _raise_if_taken(taken: Sequence[Row[str, str]], username_key: str) -> None:
    if not taken:
        return
    if any(row[0] == username_key for row in taken):
        raise Conflict("Username already taken", code="username_taken")
    raise Conflict("Email already registered", code="email_taken")

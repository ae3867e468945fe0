"""Who is calling (`Principal`), and the principal an API token stands for.

`AuthService.authenticate` -> here for a token with the API prefix -> the store
(`hubbub.store.api_tokens`). An API token's principal has the token's id as its session,
so everything that ends a session (the `sid:` key in `revoked_tokens`, `session_revoked`
on the bus, the gateway's session sweep) ends a token alike; `revoked_at` and
`expires_at` on the token's own row are checked on every call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hubbub.domain.errors import Unauthorized
from hubbub.domain.ids import utcnow
from hubbub.domain.token_rules import ALL_SCOPES, Scope
from hubbub.security.tokens import hash_refresh_token
from hubbub.store.api_tokens import token_principal_txn, touch_token_txn
from hubbub.store.database import Database

# `last_used_at` is written at most this often per token: a busy token costs no write
# per call, and its list still says when it was last used to the minute.
LAST_USED_PRECISION = timedelta(minutes=1)
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an authenticated, active user and the session of its token (a
    login's refresh family, or an API token), with the scopes the token holds."""

    user_id: uuid.UUID
    username: str
    session_id: uuid.UUID
    jti: str
    token_expires_at: datetime
    scopes: frozenset[Scope] = ALL_SCOPES
    api_token: bool = False


def parse_scopes(stored: str) -> frozenset[Scope]:
    return frozenset(Scope(name) for name in stored.split())


def stored_scopes(scopes: frozenset[Scope] | list[Scope]) -> str:
    return " ".join(scope.value for scope in Scope if scope in scopes)


def _invalid() -> Unauthorized:
    return Unauthorized("Invalid or expired token", code="invalid_token")


async def token_principal(db: Database, token: str) -> Principal:
    now = utcnow()
    async with db.read() as session:
        row = await token_principal_txn(session, hash_refresh_token(token))
    if row is None:
        raise _invalid()
    token_id, user_id, scopes, expires_at, last_used_at, revoked_at, username, active = row
    if revoked_at is not None or not active:
        raise _invalid()
    if expires_at is not None and expires_at <= now:
        raise _invalid()
    if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
        async with db.write() as session:
            await touch_token_txn(session, token_id, now)
    return Principal(
        user_id=user_id,
        username=username,
        session_id=token_id,
        jti="api:" + str(token_id),
        token_expires_at=expires_at or NEVER,
        scopes=parse_scopes(scopes),
        api_token=True,
    )

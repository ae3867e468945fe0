"""API tokens in the database: the principal a token stands for, a user's list, revoking.

Actions (`hubbub.actions.api_tokens`, `hubbub.actions.bots`) -> here, inside their session.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.models import User
from hubbub.store.token_models import ApiToken

# Every call made with an API token asks this: built once, like `sessions._PRINCIPAL`.
_TOKEN_PRINCIPAL = (
    select(
        ApiToken.id,
        ApiToken.user_id,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        User.username,
        User.is_active,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


async def token_principal_txn(
    session: AsyncSession, token_hash: str
) -> (
    Row[
        uuid.UUID,
        uuid.UUID,
        str,
        datetime | None,
        datetime | None,
        datetime | None,
        str,
        bool,
    ]
    | None
):
    """(id, user, scopes, expires, last used, revoked, username, active) of the token."""
    result = await session.execute(_TOKEN_PRINCIPAL, {"token_hash": token_hash})
    return result.first()


async def touch_token_txn(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


async def live_tokens_txn(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ApiToken]:
    """The user's tokens not revoked (expired ones too: their owner sees why one fails),
    the newest first."""
    rows = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )
    return rows.all()


async def live_token_txn(
    session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    return await session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
        )
    )


async def active_bots_of_txn(session: AsyncSession, owner_id: uuid.UUID) -> Sequence[User]:
    """The owner's bots still active, locked for the caller's change."""
    rows = await session.scalars(
        select(User)
        .where(User.bot_owner_id == owner_id, User.is_bot, User.is_active)
        .with_for_update()
    )
    return rows.all()

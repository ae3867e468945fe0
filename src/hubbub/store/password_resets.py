"""Password-reset tokens in the database: stored hashed, claimed once.

Actions (`hubbub.actions.password_reset`) -> here, inside their session.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.models import PasswordResetToken, User


async def user_by_email_txn(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def reset_token_txn(session: AsyncSession, token_hash: str) -> PasswordResetToken | None:
    return await session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash)
    )


async def claim_reset_token_txn(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Mark the token used if it is still unused and unexpired: of two concurrent
    confirmations exactly one claims it."""
    claimed = await session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.id == token_id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def spend_reset_tokens_txn(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """Every unused reset token of the user becomes used: one reset ends the others."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )

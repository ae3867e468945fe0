"""Accounts and sessions in the database: users by name, refresh tokens, revocations.

Actions (`hubbub.actions.auth`) -> here, inside their session. A session is a
refresh-token family; revoking one marks every token of the family and records the
family's `sid:` key in `revoked_tokens`, which
`hubbub.store.handshake_reads.principal_row` checks on every call.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Row, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.dialect import insert_ignoring_duplicates
from hubbub.store.models import RefreshToken, RevokedToken, User

REVOKED_TOKENS = cast(Table, RevokedToken.__table__)


def session_key(family_id: uuid.UUID) -> str:
    """The `revoked_tokens` key that ends every access token of a session."""
    return "sid:" + str(family_id)


async def names_taken_txn(
    session: AsyncSession, username_key: str, email: str
) -> Sequence[Row[str, str]]:
    """(username_key, email) of the accounts holding either name."""
    result = await session.execute(
        select(User.username_key, User.email).where(
            or_(User.username_key == username_key, User.email == email)
        )
    )
    return result.all()


async def user_by_login_txn(session: AsyncSession, lookup: str) -> User | None:
    """The account whose email or (lower-cased) username is `lookup`."""
    return await session.scalar(
        select(User).where(or_(User.email == lookup, User.username_key == lookup))
    )


async def set_password_hash_txn(session: AsyncSession, user_id: uuid.UUID, hashed: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(password_hash=hashed))


async def refresh_token_txn(
    session: AsyncSession, token_hash: str, *, user_id: uuid.UUID | None = None
) -> RefreshToken | None:
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    if user_id is not None:
        query = query.where(RefreshToken.user_id == user_id)
    return await session.scalar(query)


async def claim_refresh_token_txn(
    session: AsyncSession, token_id: uuid.UUID, now: datetime
) -> bool:
    """Mark the token used if it is still unused: of two concurrent refreshes exactly one
    claims it."""
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def revoke_family_txn(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def add_revoked_txn(
    session: AsyncSession, key: str, user_id: uuid.UUID, expires_at: datetime
) -> None:
    """Revoke a token id or a session key. Revoking one already revoked changes nothing,
    also when two requests revoke it at once (a logout clicked twice, a session ended
    from two devices): one statement that skips a key already there, where a read
    and then an insert would let both insert and the second fail on the key."""
    dialect = session.get_bind().dialect.name
    await session.execute(
        insert_ignoring_duplicates(REVOKED_TOKENS, dialect).values(
            jti=key, user_id=user_id, expires_at=expires_at, revoked_at=datetime.now(UTC)
        )
    )


async def live_families_txn(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The user's sessions (refresh-token families) not yet revoked."""
    rows = await session.scalars(
        select(RefreshToken.family_id)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .distinct()
    )
    return list(rows.all())


async def user_by_username_txn(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username_key == username.lower()))


async def ended_sessions_txn(
    session: AsyncSession, sessions: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> set[uuid.UUID]:
    """Of these (user, session) pairs, the sessions that have ended: revoked, or of an
    account no longer active."""
    keys = {session_key(family): family for _, family in sessions}
    revoked = await session.scalars(select(RevokedToken.jti).where(RevokedToken.jti.in_(keys)))
    ended = {keys[key] for key in revoked.all()}
    inactive = set(
        (
            await session.scalars(
                select(User.id).where(
                    User.id.in_({user for user, _ in sessions}), User.is_active.is_(False)
                )
            )
        ).all()
    )
    return ended | {family for user, family in sessions if user in inactive}


async def session_rows_txn(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[Row[uuid.UUID, str | None, str | None, datetime]]:
    """(session id, user agent, address, last used) of each of the user's live sessions:
    its newest token, the one not yet used, issued by the last login or refresh."""
    result = await session.execute(
        select(
            RefreshToken.family_id,
            RefreshToken.user_agent,
            RefreshToken.client_address,
            RefreshToken.created_at,
        )
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .order_by(RefreshToken.created_at.desc())
    )
    return result.all()


async def sessions_started_txn(
    session: AsyncSession, families: Sequence[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """When each session began: its first token."""
    if not families:
        return {}
    result = await session.execute(
        select(RefreshToken.family_id, func.min(RefreshToken.created_at))
        .where(RefreshToken.family_id.in_(families))
        .group_by(RefreshToken.family_id)
    )
    return {family: started for family, started in result.all()}


async def owns_live_session_txn(
    session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        select(RefreshToken.id)
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.family_id == family_id,
            RefreshToken.revoked_at.is_(None),
        )
        .limit(1)
    )
    return found is not None

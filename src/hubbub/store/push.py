"""Storage of Web Push subscriptions (`push_subscriptions`).

Actions (`hubbub.actions.push`) and queries (`hubbub.queries.push`) -> here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.models import PushSubscription

# Subscriptions one user keeps (a browser each); a new one past this replaces the
# oldest, so that nobody makes the server push a thousand times per message.
MAX_PER_USER = 20


async def subscribe_txn(
    session: AsyncSession, user_id: uuid.UUID, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Keep the subscription; an endpoint known already (the browser subscribing again,
    maybe for another user now) takes the new keys and owner."""
    row = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint).with_for_update()
    )
    if row is None:
        row = PushSubscription(user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth)
        session.add(row)
    else:
        row.user_id, row.p256dh, row.auth = user_id, p256dh, auth
    await session.flush()
    count = await session.scalar(
        select(func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.user_id == user_id)
    )
    if count is not None and count > MAX_PER_USER:
        oldest = (
            await session.scalars(
                select(PushSubscription.id)
                .where(PushSubscription.user_id == user_id, PushSubscription.id != row.id)
                .order_by(PushSubscription.created_at, PushSubscription.id)
                .limit(count - MAX_PER_USER)
            )
        ).all()
        await delete_subscriptions_txn(session, oldest)
    return row


async def subscriptions_of_txn(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> list[PushSubscription]:
    if not user_ids:
        return []
    query = (
        select(PushSubscription)
        .where(PushSubscription.user_id.in_(list(user_ids)))
        .order_by(PushSubscription.created_at, PushSubscription.id)
    )
    return list((await session.scalars(query)).all())


async def unsubscribe_txn(
    session: AsyncSession, user_id: uuid.UUID, subscription_id: uuid.UUID
) -> bool:
    """Delete one of the user's subscriptions; False if the user has none by that id."""
    result = await session.execute(
        delete(PushSubscription)
        .where(PushSubscription.id == subscription_id, PushSubscription.user_id == user_id)
        .returning(PushSubscription.id)
    )
    return result.first() is not None


async def forget_user_subscriptions_txn(session: AsyncSession, user_id: uuid.UUID) -> None:
    """An account deleted: its browsers are pushed nothing more (the user row stays)."""
    await session.execute(delete(PushSubscription).where(PushSubscription.user_id == user_id))


async def delete_subscriptions_txn(
    session: AsyncSession, subscription_ids: Collection[uuid.UUID]
) -> None:
    if subscription_ids:
        await session.execute(
            delete(PushSubscription).where(PushSubscription.id.in_(list(subscription_ids)))
        )

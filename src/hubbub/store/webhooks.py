"""Storage of outgoing webhooks: subscriptions, cursors, the delivery outbox and log.

Actions (`hubbub.actions.event_subscriptions`, `hubbub.actions.webhook_worker`) and queries
(`hubbub.queries.webhooks`) -> here. The send path writes nothing here: the worker reads
new messages past each subscription's cursor (`new_messages_txn`) and turns them into
deliveries with the cursor's move, in one transaction (`record_scan_txn`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hubbub.domain.enums import ConversationType, MessageType, ParticipantStatus
from hubbub.domain.webhook_rules import DeliveryStatus
from hubbub.store.models import Conversation, Message, Participant, User
from hubbub.store.webhook_models import EventSubscription, WebhookCursor, WebhookDelivery

_ACCOUNT_OPEN = (User.is_active.is_(True), User.deleted_at.is_(None))


async def add_subscription_txn(
    session: AsyncSession, user_id: uuid.UUID, url: str, secret: str, events: str
) -> EventSubscription:
    row = EventSubscription(user_id=user_id, url=url, secret=secret, events=events)
    session.add(row)
    await session.flush()
    return row


async def live_subscriptions_txn(
    session: AsyncSession, user_id: uuid.UUID | None = None
) -> list[EventSubscription]:
    """The subscriptions not deleted (of one account, or of all), oldest first."""
    query = select(EventSubscription).where(EventSubscription.deleted_at.is_(None))
    if user_id is not None:
        query = query.where(EventSubscription.user_id == user_id)
    else:  # the worker's: a closed or deactivated account's endpoints get nothing more
        query = query.join(User, User.id == EventSubscription.user_id).where(*_ACCOUNT_OPEN)
    rows = await session.scalars(query.order_by(EventSubscription.created_at))
    return list(rows.all())


async def subscription_of_txn(
    session: AsyncSession, user_id: uuid.UUID, subscription_id: uuid.UUID
) -> EventSubscription | None:
    row = await session.get(EventSubscription, subscription_id)
    if row is None or row.user_id != user_id or row.deleted_at is not None:
        return None
    return row


async def lock_subscription_txn(
    session: AsyncSession, subscription_id: uuid.UUID
) -> EventSubscription | None:
    """The live subscription, held for this transaction's scan; None when deleted or
    when another node's scan holds it (PostgreSQL; on SQLite the write transaction
    already serialises)."""
    row: EventSubscription | None = await session.scalar(
        select(EventSubscription)
        .where(EventSubscription.id == subscription_id, EventSubscription.deleted_at.is_(None))
        .with_for_update(skip_locked=True)
    )
    return row


@dataclass(frozen=True)
class ScanTarget:
    conversation_id: uuid.UUID
    private: bool
    last_seq: int
    cursor: int | None  # None: never scanned for this subscription
    since: datetime  # without a cursor: messages from here on


@dataclass(frozen=True)
class NewMessage:
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_name: str
    type: MessageType
    content: str
    mentions: list[uuid.UUID]
    parent_message_id: uuid.UUID | None
    created_at: datetime


async def scan_targets_txn(
    session: AsyncSession, subscription: EventSubscription, limit: int
) -> list[ScanTarget]:
    """The account's conversations with messages past the cursor (or never scanned)."""
    cursor = aliased(WebhookCursor)
    rows = await session.execute(
        select(
            Participant.conversation_id,
            Conversation.type,
            Conversation.last_seq,
            cursor.seq,
            Participant.joined_at,
        )
        .join(Conversation, Conversation.id == Participant.conversation_id)
        .outerjoin(
            cursor,
            and_(
                cursor.subscription_id == subscription.id,
                cursor.conversation_id == Participant.conversation_id,
            ),
        )
        .where(
            Participant.user_id == subscription.user_id,
            Participant.status == ParticipantStatus.ACTIVE,
            or_(cursor.seq.is_(None), Conversation.last_seq > cursor.seq),
        )
        .limit(limit)
    )
    return [
        ScanTarget(
            cid, kind == ConversationType.PRIVATE, last, seen, max(joined, subscription.created_at)
        )
        for cid, kind, last, seen, joined in rows.all()
    ]


async def new_messages_txn(
    session: AsyncSession, target: ScanTarget, limit: int
) -> list[NewMessage]:
    query = (
        select(
            Message.id,
            Message.seq,
            Message.sender_id,
            User.username,
            Message.type,
            Message.content,
            Message.mentions,
            Message.parent_message_id,
            Message.server_timestamp,
        )
        .join(User, User.id == Message.sender_id)
        .where(Message.conversation_id == target.conversation_id, Message.seq <= target.last_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    if target.cursor is None:
        query = query.where(Message.server_timestamp >= target.since)
    else:
        query = query.where(Message.seq > target.cursor)
    rows = await session.execute(query)
    return [
        NewMessage(
            mid, target.conversation_id, seq, sender, name, kind, text, list(men or []), parent, at
        )
        for mid, seq, sender, name, kind, text, men, parent, at in rows.all()
    ]


@dataclass(frozen=True)
class NewDelivery:
    id: uuid.UUID
    event: str
    conversation_id: uuid.UUID | None
    seq: int | None
    payload: dict[str, Any]


def add_deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, deliveries: Sequence[NewDelivery]
) -> None:
    for d in deliveries:
        session.add(
            WebhookDelivery(
                id=d.id,
                subscription_id=subscription_id,
                event=d.event,
                conversation_id=d.conversation_id,
                seq=d.seq,
                payload=d.payload,
                status=DeliveryStatus.PENDING,
                attempts=0,
            )
        )


async def move_cursor_txn(
    session: AsyncSession, subscription_id: uuid.UUID, conversation_id: uuid.UUID, seq: int
) -> None:
    row = await session.get(WebhookCursor, (subscription_id, conversation_id))
    if row is None:
        session.add(
            WebhookCursor(subscription_id=subscription_id, conversation_id=conversation_id, seq=seq)
        )
    elif seq > row.seq:
        row.seq = seq
    await session.flush()


async def any_due_txn(session: AsyncSession, now: datetime) -> bool:
    """Whether any delivery is due: a read, so an idle worker takes no write lock."""
    found = await session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    url: str
    secret: str
    event: str
    conversation_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int  # this one included


async def claim_due_txn(
    session: AsyncSession, now: datetime, limit: int, lease_s: float
) -> list[Claimed]:
    """Take up to `limit` due deliveries, each the first still pending of its
    subscription and conversation (so none overtakes an earlier one), and hold them
    for `lease_s`: a node that dies holding one lets it come due again (at least once).
    PostgreSQL skips rows another node holds."""
    earlier = aliased(WebhookDelivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.conversation_id == WebhookDelivery.conversation_id,
            earlier.status == DeliveryStatus.PENDING,
            earlier.seq < WebhookDelivery.seq,
        )
        .exists()
    )
    rows = (
        await session.scalars(
            select(WebhookDelivery)
            .join(EventSubscription, EventSubscription.id == WebhookDelivery.subscription_id)
            .join(User, User.id == EventSubscription.user_id)
            .where(
                *_ACCOUNT_OPEN,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                EventSubscription.deleted_at.is_(None),
                ~blocked,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).all()
    if not rows:
        return []
    subs = {
        s.id: s
        for s in await session.scalars(
            select(EventSubscription).where(
                EventSubscription.id.in_({r.subscription_id for r in rows})
            )
        )
    }
    held_until = now + timedelta(seconds=lease_s)
    claimed = []
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = held_until
        sub = subs[row.subscription_id]
        claimed.append(
            Claimed(
                row.id,
                sub.id,
                sub.user_id,
                sub.url,
                sub.secret,
                row.event,
                row.conversation_id,
                dict(row.payload),
                row.attempts,
            )
        )
    await session.flush()
    return claimed


async def finish_txn(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    error: str | None,
    now: datetime,
    next_attempt_at: datetime | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "last_error": None if error is None else error[:500],
    }
    if status == DeliveryStatus.DELIVERED:
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
    )


async def delete_subscription_txn(
    session: AsyncSession, user_id: uuid.UUID, subscription_id: uuid.UUID, now: datetime
) -> bool:
    row = await subscription_of_txn(session, user_id, subscription_id)
    if row is None:
        return False
    row.deleted_at = now
    await session.flush()
    return True


async def deliveries_txn(
    session: AsyncSession, subscription_id: uuid.UUID, status: str | None, limit: int
) -> list[WebhookDelivery]:
    """The newest deliveries first."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = await session.scalars(
        query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.seq.desc()).limit(limit)
    )
    return list(rows.all())


async def count_live_txn(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(EventSubscription)
            .where(EventSubscription.user_id == user_id, EventSubscription.deleted_at.is_(None))
        )
        or 0
    )

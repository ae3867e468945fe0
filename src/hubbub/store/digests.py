"""Email digests in the database: who has missed something, what, and the claim of a
user's digest period that makes exactly one node send it.

Actions (`hubbub.actions.digests`) -> here, inside their session. What "missed" means is
`hubbub.domain.digest_rules`; the queries below read a superset of it, already without
what the rules would leave out for sure (muted, `nothing` here, paused, digests off),
and the rules decide.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.digest_rules import DigestWindow
from hubbub.domain.enums import ConversationType, ParticipantStatus
from hubbub.domain.notify_rules import NotifyLevel
from hubbub.store.dialect import insert_ignoring_duplicates
from hubbub.store.markers import mentions_participant, unread_condition
from hubbub.store.models import (
    Conversation,
    DigestState,
    Message,
    NotificationPreference,
    Participant,
    User,
)

DIGEST_STATE = cast(Table, DigestState.__table__)


@dataclass(frozen=True, slots=True)
class MissedRow:
    """One unread message a digest may list, with what the rules and the email read."""

    user_id: uuid.UUID
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    kind: ConversationType
    conversation_name: str | None
    conversation_level: NotifyLevel | None
    conversation_muted_until: datetime | None
    mentioned: bool
    at: datetime
    content: str
    sender_name: str
    total: int  # of the user's missed messages, of which at most `per_user` are read


def _missed(window: DigestWindow, floor: datetime) -> Select[Any]:
    """Participations with unread messages a digest may list (one row per message)."""
    pref, state = NotificationPreference, DigestState
    return (
        select(Participant.user_id)
        .join(Conversation, Conversation.id == Participant.conversation_id)
        .join(
            Message,
            and_(
                Message.conversation_id == Participant.conversation_id,
                Message.seq > Participant.last_read_seq,
            ),
        )
        .join(User, User.id == Participant.user_id)
        .outerjoin(pref, pref.user_id == Participant.user_id)
        .outerjoin(state, state.user_id == Participant.user_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
        .where(User.is_active, User.deleted_at.is_(None))
        .where(*unread_condition(Participant.user_id))
        .where(Message.created_at <= window.cutoff)
        .where(
            or_(
                and_(state.user_id.is_(None), Message.created_at > floor),
                Message.created_at > state.covered_until,
            )
        )
        .where(or_(state.last_sent_at.is_(None), state.last_sent_at <= window.period_start))
        .where(
            or_(
                pref.user_id.is_(None),
                and_(
                    pref.digests,
                    or_(pref.paused_until.is_(None), pref.paused_until <= window.now),
                ),
            )
        )
        .where(or_(Participant.notify_level.is_(None), Participant.notify_level != "nothing"))
        .where(or_(Participant.muted_until.is_(None), Participant.muted_until <= window.now))
        .where(or_(Conversation.type == ConversationType.PRIVATE, mentions_participant()))
    )


async def due_users_txn(
    session: AsyncSession, window: DigestWindow, floor: datetime, *, limit: int
) -> list[uuid.UUID]:
    """Up to `limit` users who may have a digest due: unread messages sent after `floor`
    (or after what their last digest covered) and by `window.cutoff`, and no digest in
    the period."""
    query = _missed(window, floor).distinct().order_by(Participant.user_id).limit(limit)
    return list((await session.scalars(query)).all())


async def missed_txn(
    session: AsyncSession,
    user_ids: Sequence[uuid.UUID],
    window: DigestWindow,
    floor: datetime,
    *,
    per_user: int,
) -> list[MissedRow]:
    """The missed messages of these users, oldest first, at most `per_user` each."""
    if not user_ids:
        return []
    order = func.row_number().over(
        partition_by=Participant.user_id, order_by=(Message.created_at, Message.id)
    )
    total = func.count().over(partition_by=Participant.user_id)
    sender = User.__table__.alias("sender")
    inner = (
        _missed(window, floor)
        .add_columns(
            Message.id,
            Message.conversation_id,
            Conversation.type,
            Conversation.name,
            Participant.notify_level,
            Participant.muted_until,
            mentions_participant().label("mentioned"),
            Message.created_at,
            Message.content,
            func.coalesce(sender.c.display_name, sender.c.username).label("sender_name"),
            total.label("total"),
            order.label("position"),
        )
        .join(sender, sender.c.id == Message.sender_id)
        .where(Participant.user_id.in_(list(user_ids)))
        .subquery()
    )
    rows = await session.execute(
        select(inner)
        .where(inner.c.position <= per_user)
        .order_by(inner.c.user_id, inner.c.position)
    )
    return [
        MissedRow(
            user_id=row.user_id,
            message_id=row.id,
            conversation_id=row.conversation_id,
            kind=row.type,
            conversation_name=row.name,
            conversation_level=row.notify_level,
            conversation_muted_until=row.muted_until,
            mentioned=bool(row.mentioned),
            at=row.created_at,
            content=row.content,
            sender_name=row.sender_name,
            total=int(row.total),
        )
        for row in rows.all()
    ]


async def addresses_txn(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """(email, username) of these users, if active and not deleted."""
    rows = await session.execute(
        select(User.id, User.email, User.username)
        .where(User.id.in_(list(user_ids)))
        .where(User.is_active, User.deleted_at.is_(None))
    )
    return {uid: (email, name) for uid, email, name in rows.all()}


async def digest_states_txn(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[datetime | None, datetime]]:
    """(last_sent_at, covered_until) of the users that have had a digest round."""
    rows = await session.execute(
        select(DigestState.user_id, DigestState.last_sent_at, DigestState.covered_until).where(
            DigestState.user_id.in_(list(user_ids))
        )
    )
    return {uid: (sent, covered) for uid, sent, covered in rows.all()}


async def claim_digest_txn(
    session: AsyncSession, user_id: uuid.UUID, window: DigestWindow, *, sending: bool
) -> bool:
    """Take the user's digest period (`sending`: a digest is sent now) or only move what
    is covered on (nothing to send): true for the one writer that got it. A conditional
    UPDATE, else an INSERT that a row already there makes do nothing; on PostgreSQL a
    second node's statement waits for the first's commit and then changes nothing."""
    values: dict[str, datetime] = {"covered_until": window.cutoff}
    if sending:
        values["last_sent_at"] = window.now
    state = DigestState
    updated = await session.execute(
        update(state)
        .where(state.user_id == user_id)
        .where(or_(state.last_sent_at.is_(None), state.last_sent_at <= window.period_start))
        .values(**values)
    )
    if _count(updated) == 1:
        return True
    dialect = session.get_bind().dialect.name
    inserted = await session.execute(
        insert_ignoring_duplicates(DIGEST_STATE, dialect).values(
            user_id=user_id, last_sent_at=values.get("last_sent_at"), covered_until=window.cutoff
        )
    )
    return _count(inserted) == 1


async def release_digest_txn(
    session: AsyncSession,
    user_id: uuid.UUID,
    claimed_at: datetime,
    before: tuple[datetime | None, datetime] | None,
) -> None:
    """Give back a claim whose email could not be sent, so the next round tries again;
    only if it is still this claim."""
    state = DigestState
    mine = and_(state.user_id == user_id, state.last_sent_at == claimed_at)
    if before is None:
        await session.execute(delete(state).where(mine))
        return
    await session.execute(
        update(state).where(mine).values(last_sent_at=before[0], covered_until=before[1])
    )


def _count(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0

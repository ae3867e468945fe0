"""Storage of notification preferences: a user's defaults, as the rules read them.

Actions and queries -> here -> the `notification_preferences` table; the notifier's
one read per batch of messages (`recipients_txn`, through `hubbub.queries.push`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import time

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hubbub.domain.enums import ConversationType, ParticipantStatus
from hubbub.domain.notify_rules import (
    DEFAULT_LEVELS,
    Candidates,
    NotifyLevel,
    Preferences,
    Recipient,
)
from hubbub.store.models import Conversation, NotificationPreference, Participant, User


def minute_of(clock: time | None) -> int | None:
    return None if clock is None else clock.hour * 60 + clock.minute


def clock_of(minute: int | None) -> time | None:
    return None if minute is None else time(minute // 60, minute % 60)


def as_rules(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        private=row.private_level,
        group=row.group_level,
        space=row.space_level,
        paused_until=row.paused_until,
        dnd_start=clock_of(row.quiet_start_minute),
        dnd_end=clock_of(row.quiet_end_minute),
        timezone=row.timezone,
        digests=row.digests,
    )


async def preferences_txn(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Preferences]:
    """Each user's preferences (the defaults for those who never chose)."""
    rows = (
        await session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
        )
    ).all()
    found = {row.user_id: as_rules(row) for row in rows}
    return {user_id: found.get(user_id, Preferences()) for user_id in user_ids}


async def change_preferences_txn(
    session: AsyncSession, user_id: uuid.UUID, change: Callable[[Preferences], Preferences]
) -> Preferences:
    """Apply `change` to one user's preferences and store the result. The row is read
    once, locked until the end of the transaction, and the same row is written: two
    changes at once apply one after the other. With no row yet, the result is inserted,
    and a second insert at once fails on the key (the caller runs it again,
    `hubbub.actions.races`) rather than overwrite the first."""
    row = await session.get(NotificationPreference, user_id, with_for_update=True)
    prefs = change(as_rules(row))
    if row is None:
        row = NotificationPreference(user_id=user_id)
        session.add(row)
    row.private_level = prefs.private
    row.group_level = prefs.group
    row.space_level = prefs.space
    row.paused_until = prefs.paused_until
    row.quiet_start_minute = minute_of(prefs.dnd_start)
    row.quiet_end_minute = minute_of(prefs.dnd_end)
    row.timezone = prefs.timezone
    row.digests = prefs.digests
    return prefs


def _could_be_all(
    kind: ConversationType, default: InstrumentedAttribute[NotifyLevel]
) -> ColumnElement[bool]:
    """The participant's level for a conversation of `kind` may be `all`: theirs is
    unset and their default for `kind` is `all` (or, never chosen, the default is)."""
    chosen: ColumnElement[bool] = default == NotifyLevel.ALL
    if DEFAULT_LEVELS[kind] is NotifyLevel.ALL:
        chosen = or_(chosen, NotificationPreference.user_id.is_(None))
    return and_(Conversation.type == kind, Participant.notify_level.is_(None), chosen)


async def recipients_txn(session: AsyncSession, wanted: Candidates) -> list[Recipient]:
    """The active participants (with an active account) of these conversations whom the
    rules could admit, with their own level and mute and their defaults; one query,
    whatever the number of messages. A superset, so that a big group's message reads
    a few rows, not one per member: everyone in a private conversation or after an
    @all, the users mentioned, and those whose level there may be `all`; the rules
    (`should_notify`) decide."""
    pref = NotificationPreference
    could = or_(
        Conversation.type == ConversationType.PRIVATE,
        Participant.conversation_id.in_(list(wanted.everyone_in)),
        Participant.user_id.in_(list(wanted.mentioned)),
        Participant.notify_level == NotifyLevel.ALL,
        _could_be_all(ConversationType.GROUP, pref.group_level),
        _could_be_all(ConversationType.SPACE, pref.space_level),
    )
    rows = (
        await session.execute(
            select(
                Participant.user_id,
                Participant.conversation_id,
                Participant.notify_level,
                Participant.muted_until,
                Conversation.type,
                Conversation.name,
                pref.user_id,
                pref.private_level,
                pref.group_level,
                pref.space_level,
                pref.paused_until,
                pref.quiet_start_minute,
                pref.quiet_end_minute,
                pref.timezone,
            )
            .join(Conversation, Conversation.id == Participant.conversation_id)
            .outerjoin(pref, pref.user_id == Participant.user_id)
            .where(Participant.conversation_id.in_(list(wanted.conversation_ids)))
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .where(could)
            # A deactivated account keeps its memberships; it is told of nothing.
            .join(User, User.id == Participant.user_id)
            .where(User.is_active)
        )
    ).all()
    return [
        Recipient(
            user_id=row[0],
            conversation_id=row[1],
            conversation_level=row[2],
            conversation_muted_until=row[3],
            kind=row[4],
            conversation_name=row[5],
            prefs=Preferences()
            if row[6] is None
            else Preferences(
                private=row[7],
                group=row[8],
                space=row[9],
                paused_until=row[10],
                dnd_start=clock_of(row[11]),
                dnd_end=clock_of(row[12]),
                timezone=row[13],
            ),
        )
        for row in rows
    ]

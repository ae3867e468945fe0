"""Reading a user's notification preferences.

Edge (`GET /users/me/notifications`) -> here -> storage (`hubbub.store.notify_prefs`).
"""

from __future__ import annotations

import uuid

from hubbub.domain.notify_rules import Preferences
from hubbub.store.database import Database
from hubbub.store.notify_prefs import preferences_txn
from hubbub.wire.notifications import NotificationPreferencesView


def preferences_view(prefs: Preferences) -> NotificationPreferencesView:
    return NotificationPreferencesView(
        private=prefs.private,
        group=prefs.group,
        space=prefs.space,
        paused_until=prefs.paused_until,
        quiet_hours_start=None if prefs.dnd_start is None else prefs.dnd_start.strftime("%H:%M"),
        quiet_hours_end=None if prefs.dnd_end is None else prefs.dnd_end.strftime("%H:%M"),
        timezone=prefs.timezone,
        digests=prefs.digests,
    )


class NotificationQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def preferences(self, user_id: uuid.UUID) -> NotificationPreferencesView:
        async with self._db.read() as session:
            prefs = (await preferences_txn(session, [user_id]))[user_id]
        return preferences_view(prefs)

"""Changing notification rules: a user's defaults, and one conversation's own level and
mute (applied by `ConversationService.update_settings`).

Edge (`PATCH /users/me/notifications`) -> here -> storage (`hubbub.store.notify_prefs`).
The rules that read them are `hubbub.domain.notify_rules`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import time

from hubbub.actions.budgets import Budgets
from hubbub.actions.races import once_more_if_raced
from hubbub.config import Budget
from hubbub.domain.notify_rules import NotifyLevel, Preferences
from hubbub.queries.notifications import preferences_view
from hubbub.store.database import Database
from hubbub.store.models import Participant
from hubbub.store.notify_prefs import change_preferences_txn
from hubbub.wire.notifications import (
    ConversationSettings,
    NotificationPreferencesView,
    UpdateNotificationPreferences,
)


def choose_notifications(me: Participant, req: ConversationSettings) -> None:
    """Apply a settings request's notification fields to the caller's participation."""
    given = req.model_fields_set
    if "notification_level" in given:
        me.notify_level = req.notification_level
    elif req.notifications_enabled is False:
        me.notify_level = NotifyLevel.NOTHING
    elif req.notifications_enabled is True:
        # The seed protocol's "unmute": back to the defaults, and no mute left running.
        if me.notify_level is NotifyLevel.NOTHING:
            me.notify_level = None
        me.muted_until = None
    if "muted_until" in given:
        me.muted_until = req.muted_until


DEFAULTS = Preferences()


def _clock(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)


class NotificationSettings:
    def __init__(self, db: Database, budgets: Budgets) -> None:
        self._db = db
        self._budgets = budgets

    async def update(
        self, user_id: uuid.UUID, req: UpdateNotificationPreferences
    ) -> NotificationPreferencesView:
        await self._budgets.take(Budget.PROFILE, user_id)
        changes = _changes(req)
        # Two first saves at once insert the row once (`hubbub.actions.races`).
        prefs = await once_more_if_raced(lambda: self._save(user_id, changes))
        return preferences_view(prefs)

    async def _save(self, user_id: uuid.UUID, changes: dict[str, object]) -> Preferences:
        async with self._db.write() as session:
            return await change_preferences_txn(
                session,
                user_id,
                lambda prefs: replace(prefs, **changes),  # type: ignore[arg-type]
            )


def _changes(req: UpdateNotificationPreferences) -> dict[str, object]:
    """The fields of `Preferences` the request sets; a level, the time zone or `digests`
    given as null goes back to its default."""
    given = req.model_fields_set
    changes: dict[str, object] = {}
    for name in ("private", "group", "space", "timezone", "digests"):
        if name in given:
            value = getattr(req, name)
            changes[name] = value if value is not None else getattr(DEFAULTS, name)
    if "paused_until" in given:
        changes["paused_until"] = req.paused_until
    if "quiet_hours_start" in given:
        changes["dnd_start"] = _clock(req.quiet_hours_start)
    if "quiet_hours_end" in given:
        changes["dnd_end"] = _clock(req.quiet_hours_end)
    return changes

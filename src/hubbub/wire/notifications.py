"""Notification rules on the wire: a user's defaults (`/users/me/notifications`) and a
conversation's own setting (`PATCH /conversations/{id}/settings`)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field, StrictBool, StringConstraints

from hubbub.domain.notify_rules import NotifyLevel
from hubbub.wire.fields import InputModel, Timestamp, WireModel
from hubbub.wire.query import BodyTime

# "HH:MM" on a 24-hour clock.
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known time zone (e.g. Europe/Paris, UTC)") from None
    return name


def _zone_names(schema: dict[str, Any]) -> None:
    # Listed when the schema is asked for, not at import: the names the server knows.
    schema["enum"] = sorted(available_timezones())


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_zone),
    Field(json_schema_extra=_zone_names),
]


class NotificationPreferencesView(WireModel):
    """A user's defaults by conversation type, pause and do-not-disturb hours, and
    whether email digests are on."""

    private: NotifyLevel
    group: NotifyLevel
    space: NotifyLevel
    paused_until: Timestamp | None
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    timezone: str
    digests: bool


class UpdateNotificationPreferences(InputModel):
    """Only the fields given change. A level, the time zone or `digests` given as null
    goes back to its default; `pausedUntil: null` ends a pause; each end of the quiet
    hours is set or cleared on its own, and they apply only while both are set. (Every
    body the schema allows is one the server accepts: nothing is refused beyond it.)"""

    private: NotifyLevel | None = None
    group: NotifyLevel | None = None
    space: NotifyLevel | None = None
    paused_until: BodyTime | None = None
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None
    timezone: TimeZoneName | None = None
    digests: StrictBool | None = None


class ConversationSettings(InputModel):
    """The caller's own settings of one conversation. `notificationLevel: null` goes
    back to the user's default for the conversation's type; `notificationsEnabled` (the
    seed protocol's flag) is kept: false means "nothing", true the default. Given both,
    `notificationLevel` decides."""

    notifications_enabled: StrictBool | None = None
    notification_level: NotifyLevel | None = None
    muted_until: BodyTime | None = None
    is_archived: StrictBool | None = None

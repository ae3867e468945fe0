"""Who is notified of a message: pure rules, one condition per line.

At the bottom of the flow with the rest of `hubbub.domain`. A user chooses a level per
conversation type (private: every message; group and space: mentions and direct
messages), may override it per conversation, may mute one conversation until a time,
may pause everything until a time, and may keep do-not-disturb hours in their own time
zone. Unread counts never depend on any of this: the rules only decide whether a
message is worth interrupting someone for (a browser notification, a push).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, time
from ipaddress import ip_address
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from hubbub.domain.enums import ConversationType


class NotifyLevel(enum.StrEnum):
    ALL = "all"
    MENTIONS = "mentions"  # mentions and direct (private) messages only
    NOTHING = "nothing"


DEFAULT_LEVELS: dict[ConversationType, NotifyLevel] = {
    ConversationType.PRIVATE: NotifyLevel.ALL,
    ConversationType.GROUP: NotifyLevel.MENTIONS,
    ConversationType.SPACE: NotifyLevel.MENTIONS,
}


@dataclass(frozen=True, slots=True)
class Preferences:
    """A user's own defaults; a user who never chose has `Preferences()`."""

    private: NotifyLevel = DEFAULT_LEVELS[ConversationType.PRIVATE]
    group: NotifyLevel = DEFAULT_LEVELS[ConversationType.GROUP]
    space: NotifyLevel = DEFAULT_LEVELS[ConversationType.SPACE]
    paused_until: datetime | None = None
    dnd_start: time | None = None
    dnd_end: time | None = None
    timezone: str = "UTC"
    # Email digests of what the user missed (`hubbub.domain.digest_rules`).
    digests: bool = True

    def level_for(self, kind: ConversationType) -> NotifyLevel:
        if kind is ConversationType.PRIVATE:
            return self.private
        if kind is ConversationType.GROUP:
            return self.group
        return self.space


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as one recipient sees it."""

    kind: ConversationType
    conversation_level: NotifyLevel | None  # None: the user's default for `kind`
    conversation_muted_until: datetime | None
    mentioned: bool  # by name or by @all
    from_self: bool
    at: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class Recipient:
    """A participant of a conversation a message went to, with what the rules read."""

    user_id: uuid.UUID
    conversation_id: uuid.UUID
    kind: ConversationType
    conversation_name: str | None
    conversation_level: NotifyLevel | None
    conversation_muted_until: datetime | None
    prefs: Preferences


@dataclass(frozen=True, slots=True)
class Candidates:
    """Whom a batch of new messages may concern: their conversations, those of them
    where an @all mentions everyone, and the users mentioned by name."""

    conversation_ids: frozenset[uuid.UUID]
    everyone_in: frozenset[uuid.UUID]
    mentioned: frozenset[uuid.UUID]


def effective_level(
    prefs: Preferences, kind: ConversationType, chosen: NotifyLevel | None
) -> NotifyLevel:
    if chosen is not None:
        return chosen
    return prefs.level_for(kind)


def is_muted(muted_until: datetime | None, now: datetime) -> bool:
    return muted_until is not None and muted_until > now


def in_quiet_hours(prefs: Preferences, now: datetime) -> bool:
    """Whether `now` falls in the user's do-not-disturb hours, read on their clock; a
    window whose end is before its start runs over midnight (22:00 to 07:00)."""
    start, end = prefs.dnd_start, prefs.dnd_end
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(ZoneInfo(prefs.timezone)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def level_admits(level: NotifyLevel, kind: ConversationType, mentioned: bool) -> bool:
    if level is NotifyLevel.ALL:
        return True
    if level is NotifyLevel.NOTHING:
        return False
    if mentioned:
        return True
    return kind is ConversationType.PRIVATE


def should_notify(prefs: Preferences, delivery: Delivery) -> bool:
    """Whether this recipient is interrupted for this message."""
    if delivery.from_self:
        return False
    if is_muted(prefs.paused_until, delivery.at):
        return False
    if is_muted(delivery.conversation_muted_until, delivery.at):
        return False
    if in_quiet_hours(prefs, delivery.at):
        return False
    level = effective_level(prefs, delivery.kind, delivery.conversation_level)
    return level_admits(level, delivery.kind, delivery.mentioned)


def notifications_on(
    chosen: NotifyLevel | None, muted_until: datetime | None, now: datetime
) -> bool:
    """The seed protocol's single `notificationsEnabled` flag of one conversation: off
    when it is set to notify of nothing or is muted now. (The user-wide defaults are
    their own resource; the flag speaks of this conversation's own choice.)"""
    if is_muted(muted_until, now):
        return False
    return chosen is not NotifyLevel.NOTHING


PREVIEW_CHARS = 140


def preview(content: str, limit: int = PREVIEW_CHARS) -> str:
    """A message's text as a notification shows it: one line, at most `limit`
    characters, an ellipsis where it was cut."""
    flat = " ".join(content.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def notification_title(sender: str, kind: ConversationType, conversation: str | None) -> str:
    """Who wrote, and where unless it is a private conversation."""
    if kind is ConversationType.PRIVATE or not conversation:
        return sender
    return f"{sender} in {conversation}"


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def push_endpoint_problem(endpoint: str, *, allow_insecure_loopback: bool) -> str | None:
    """Why the server will not push to `endpoint`, or None: a push service is reached
    over HTTPS only (the push carries a preview of a message); plain http:// only on
    the loopback, and only where a setting allows it (tests)."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return "endpoint: is not a URL"
    if not host or parts.username is not None or parts.password is not None:
        return "endpoint: is not an https:// URL with a host"
    if parts.scheme == "http" and allow_insecure_loopback and host in LOOPBACK_HOSTS:
        return None
    if parts.scheme != "https":
        return "endpoint: must be an https:// URL (a push service is reached over HTTPS only)"
    try:
        address = ip_address(host)
    except ValueError:
        return None  # a name, as push services' endpoints are
    if not address.is_global:
        # No push service lives there: a way to make the server call inside its network.
        return "endpoint: must be a public push service, not a private address"
    return None

"""What an email digest tells a user of, and when: pure rules, one condition per line.

A digest lists the unread messages a user missed: those that mention them (by name or
with @all) and those of their private conversations, unread for at least the digest
threshold (HUBBUB_DIGEST_AFTER_S), not listed by an earlier digest, and at most one
digest per period (HUBBUB_DIGEST_EVERY_S). The notification rules apply where they
speak: a conversation at level `nothing` or muted now is left out, a paused user gets
none, and a user who turned digests off gets none. Quiet hours do not hold a digest
back: an email does not ring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hubbub.domain.enums import ConversationType
from hubbub.domain.notify_rules import NotifyLevel, Preferences, effective_level, is_muted


@dataclass(frozen=True, slots=True)
class Missed:
    """One unread message as the digest rules read it, for one user."""

    kind: ConversationType
    conversation_level: NotifyLevel | None  # None: the user's default for `kind`
    conversation_muted_until: datetime | None
    mentioned: bool  # by name or by @all
    at: datetime  # when it was sent (aware, UTC)


@dataclass(frozen=True, slots=True)
class DigestWindow:
    """One round's times: messages sent at or before `cutoff` have waited long enough;
    a user whose last digest was sent at or before `period_start` may get another."""

    now: datetime
    cutoff: datetime
    period_start: datetime


def digest_window(now: datetime, *, after_s: int, every_s: int) -> DigestWindow:
    return DigestWindow(
        now=now,
        cutoff=now - timedelta(seconds=after_s),
        period_start=now - timedelta(seconds=every_s),
    )


def digest_due(last_sent_at: datetime | None, window: DigestWindow) -> bool:
    """Whether the user's digest period allows one more now."""
    return last_sent_at is None or last_sent_at <= window.period_start


def user_wants_digest(prefs: Preferences, window: DigestWindow) -> bool:
    if not prefs.digests:
        return False
    return not is_muted(prefs.paused_until, window.now)


def in_digest(prefs: Preferences, missed: Missed, window: DigestWindow) -> bool:
    """Whether this unread message belongs in the user's digest now."""
    if missed.at > window.cutoff:
        return False
    if not user_wants_digest(prefs, window):
        return False
    if is_muted(missed.conversation_muted_until, window.now):
        return False
    level = effective_level(prefs, missed.kind, missed.conversation_level)
    if level is NotifyLevel.NOTHING:
        return False
    return missed.mentioned or missed.kind is ConversationType.PRIVATE


def digest_subject(count: int) -> str:
    if count == 1:
        return "You missed a message on hubbub"
    return f"You missed {count} messages on hubbub"

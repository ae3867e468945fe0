"""The digest rules (`hubbub.domain.digest_rules`) as tables: pure, no database.

Every conversation type, mentioned or not, at every level; then each thing that keeps
a message out of a digest (too recent, muted, paused, digests off) on its own, and the
period: at most one digest per user per period.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from hubbub.domain.digest_rules import (
    Missed,
    digest_due,
    digest_subject,
    digest_window,
    in_digest,
)
from hubbub.domain.enums import ConversationType
from hubbub.domain.notify_rules import NotifyLevel, Preferences

PRIVATE, GROUP, SPACE = ConversationType.PRIVATE, ConversationType.GROUP, ConversationType.SPACE
ALL, MENTIONS, NOTHING = NotifyLevel.ALL, NotifyLevel.MENTIONS, NotifyLevel.NOTHING
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WINDOW = digest_window(NOON, after_s=3600, every_s=86400)
OLD = NOON - timedelta(hours=2)


def missed(kind: ConversationType, **changes: object) -> Missed:
    base = Missed(
        kind=kind, conversation_level=None, conversation_muted_until=None, mentioned=False, at=OLD
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# (the conversation's own level, kind, mentioned) -> listed
LEVEL_TABLE = [
    (None, PRIVATE, False, True),
    (None, GROUP, False, False),
    (None, SPACE, False, False),
    (None, GROUP, True, True),
    (None, SPACE, True, True),
    (ALL, GROUP, False, False),  # a digest lists mentions and private messages only
    (ALL, PRIVATE, False, True),
    (MENTIONS, PRIVATE, False, True),
    (MENTIONS, GROUP, True, True),
    (NOTHING, PRIVATE, False, False),
    (NOTHING, GROUP, True, False),
    (NOTHING, SPACE, True, False),
]


@pytest.mark.parametrize(("level", "kind", "mentioned", "listed"), LEVEL_TABLE)
def test_what_a_digest_lists_by_level(
    level: NotifyLevel | None, kind: ConversationType, mentioned: bool, listed: bool
) -> None:
    item = missed(kind, conversation_level=level, mentioned=mentioned)
    assert in_digest(Preferences(), item, WINDOW) is listed


# (preferences, the message's changes) -> listed
LATER = NOON + timedelta(hours=1)
EARLIER = NOON - timedelta(minutes=1)
SILENCERS = [
    (Preferences(), {}, True),
    (Preferences(), {"at": NOON - timedelta(minutes=59)}, False),  # not unread long enough
    (Preferences(), {"at": WINDOW.cutoff}, True),  # exactly the threshold
    (Preferences(), {"conversation_muted_until": LATER}, False),
    (Preferences(), {"conversation_muted_until": EARLIER}, True),  # a mute that ended
    (Preferences(paused_until=LATER), {}, False),
    (Preferences(paused_until=EARLIER), {}, True),
    (Preferences(digests=False), {}, False),
    (Preferences(private=NOTHING), {}, False),  # the user's default for the type
    (Preferences(private=NOTHING), {"conversation_level": ALL}, True),
    # Quiet hours do not hold an email back.
    (Preferences(dnd_start=time(11), dnd_end=time(13)), {}, True),
]


@pytest.mark.parametrize(("prefs", "changes", "listed"), SILENCERS)
def test_what_keeps_a_message_out(
    prefs: Preferences, changes: dict[str, object], listed: bool
) -> None:
    assert in_digest(prefs, missed(PRIVATE, **changes), WINDOW) is listed


# (last digest sent, hours before noon or None) -> due
PERIOD_TABLE = [(None, True), (25, True), (24, True), (23, False), (0, False)]


@pytest.mark.parametrize(("hours_ago", "due"), PERIOD_TABLE)
def test_one_digest_per_period(hours_ago: int | None, due: bool) -> None:
    last = None if hours_ago is None else NOON - timedelta(hours=hours_ago)
    assert digest_due(last, WINDOW) is due


def test_the_subject_counts_the_messages() -> None:
    assert digest_subject(1) == "You missed a message on hubbub"
    assert digest_subject(3) == "You missed 3 messages on hubbub"

"""The notification rules (`hubbub.domain.notify_rules`) as tables: pure, no database.

Every level is asked for every conversation type, mentioned or not; then each thing that
silences a message (own message, pause, conversation mute, quiet hours) on its own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from hubbub.domain.enums import ConversationType
from hubbub.domain.notify_rules import (
    Delivery,
    NotifyLevel,
    Preferences,
    effective_level,
    in_quiet_hours,
    notification_title,
    notifications_on,
    preview,
    push_endpoint_problem,
    should_notify,
)

PRIVATE, GROUP, SPACE = ConversationType.PRIVATE, ConversationType.GROUP, ConversationType.SPACE
ALL, MENTIONS, NOTHING = NotifyLevel.ALL, NotifyLevel.MENTIONS, NotifyLevel.NOTHING
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def delivery(kind: ConversationType, **changes: object) -> Delivery:
    base = Delivery(
        kind=kind,
        conversation_level=None,
        conversation_muted_until=None,
        mentioned=False,
        from_self=False,
        at=NOON,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# (level, kind, mentioned) -> notified
LEVEL_TABLE = [
    (ALL, PRIVATE, False, True),
    (ALL, GROUP, False, True),
    (ALL, SPACE, False, True),
    (ALL, GROUP, True, True),
    (MENTIONS, PRIVATE, False, True),
    (MENTIONS, GROUP, False, False),
    (MENTIONS, SPACE, False, False),
    (MENTIONS, GROUP, True, True),
    (MENTIONS, SPACE, True, True),
    (NOTHING, PRIVATE, False, False),
    (NOTHING, PRIVATE, True, False),
    (NOTHING, GROUP, True, False),
    (NOTHING, SPACE, False, False),
]


@pytest.mark.parametrize(("level", "kind", "mentioned", "notified"), LEVEL_TABLE)
def test_a_conversation_level_decides(
    level: NotifyLevel, kind: ConversationType, mentioned: bool, notified: bool
) -> None:
    d = delivery(kind, conversation_level=level, mentioned=mentioned)
    assert should_notify(Preferences(), d) is notified


@pytest.mark.parametrize(("level", "kind", "mentioned", "notified"), LEVEL_TABLE)
def test_the_users_default_for_the_type_decides_when_the_conversation_does_not(
    level: NotifyLevel, kind: ConversationType, mentioned: bool, notified: bool
) -> None:
    prefs = Preferences(private=level, group=level, space=level)
    assert should_notify(prefs, delivery(kind, mentioned=mentioned)) is notified


def test_the_defaults_by_type() -> None:
    prefs = Preferences()
    assert [effective_level(prefs, kind, None) for kind in (PRIVATE, GROUP, SPACE)] == [
        ALL,
        MENTIONS,
        MENTIONS,
    ]
    assert should_notify(prefs, delivery(PRIVATE)) is True
    assert should_notify(prefs, delivery(GROUP)) is False
    assert should_notify(prefs, delivery(GROUP, mentioned=True)) is True


def test_a_conversation_level_overrides_the_default() -> None:
    prefs = Preferences(group=NOTHING)
    assert should_notify(prefs, delivery(GROUP, conversation_level=ALL)) is True
    assert should_notify(Preferences(), delivery(PRIVATE, conversation_level=NOTHING)) is False


SILENCERS = [
    ("own message", Preferences(), {"from_self": True}),
    ("paused", Preferences(paused_until=NOON + timedelta(minutes=1)), {}),
    ("conversation muted", Preferences(), {"conversation_muted_until": NOON + timedelta(hours=1)}),
    ("quiet hours", Preferences(dnd_start=time(11, 0), dnd_end=time(13, 0)), {}),
]


@pytest.mark.parametrize(("why", "prefs", "changes"), SILENCERS, ids=[s[0] for s in SILENCERS])
def test_each_silencer_on_its_own_silences_even_a_mention(
    why: str, prefs: Preferences, changes: dict[str, object]
) -> None:
    loud = delivery(PRIVATE, conversation_level=ALL, mentioned=True)
    assert should_notify(Preferences(), loud) is True
    assert should_notify(prefs, replace(loud, **changes)) is False  # type: ignore[arg-type]


def test_a_pause_or_mute_that_has_ended_silences_nothing() -> None:
    ended = NOON - timedelta(seconds=1)
    d = delivery(PRIVATE, conversation_muted_until=ended)
    assert should_notify(Preferences(paused_until=ended), d) is True


@pytest.mark.parametrize(
    ("start", "end", "zone", "at", "quiet"),
    [
        (time(22), time(7), "UTC", datetime(2026, 6, 1, 23, 30, tzinfo=UTC), True),
        (time(22), time(7), "UTC", datetime(2026, 6, 1, 6, 59, tzinfo=UTC), True),
        (time(22), time(7), "UTC", datetime(2026, 6, 1, 7, 0, tzinfo=UTC), False),
        (time(22), time(7), "UTC", datetime(2026, 6, 1, 21, 59, tzinfo=UTC), False),
        (time(9), time(17), "UTC", datetime(2026, 6, 1, 9, 0, tzinfo=UTC), True),
        (time(9), time(17), "UTC", datetime(2026, 6, 1, 17, 0, tzinfo=UTC), False),
        # 21:30 UTC is 23:30 in Paris in June (UTC+2): quiet there, not in UTC.
        (time(22), time(7), "Europe/Paris", datetime(2026, 6, 1, 21, 30, tzinfo=UTC), True),
        (time(22), time(7), "UTC", datetime(2026, 6, 1, 21, 30, tzinfo=UTC), False),
        # The same start and end: no window at all.
        (time(8), time(8), "UTC", datetime(2026, 6, 1, 8, 0, tzinfo=UTC), False),
    ],
)
def test_quiet_hours_on_the_users_clock(
    start: time, end: time, zone: str, at: datetime, quiet: bool
) -> None:
    prefs = Preferences(dnd_start=start, dnd_end=end, timezone=zone)
    assert in_quiet_hours(prefs, at) is quiet


@pytest.mark.parametrize(
    ("chosen", "muted_until", "on"),
    [
        (None, None, True),
        (ALL, None, True),
        (MENTIONS, None, True),
        (NOTHING, None, False),
        (None, NOON + timedelta(hours=1), False),
        (None, NOON - timedelta(hours=1), True),
    ],
)
def test_the_seed_protocols_single_flag(
    chosen: NotifyLevel | None, muted_until: datetime | None, on: bool
) -> None:
    assert notifications_on(chosen, muted_until, NOON) is on


def test_a_preview_is_one_line_of_at_most_140_characters() -> None:
    assert preview("  hello\n\n  there\t ") == "hello there"
    cut = preview("word " * 100)
    assert len(cut) == 140
    assert cut.endswith("\u2026")
    assert preview("x" * 140) == "x" * 140


def test_a_title_names_the_group_but_not_a_private_conversation() -> None:
    assert notification_title("ann", PRIVATE, None) == "ann"
    assert notification_title("ann", GROUP, "crew") == "ann in crew"
    assert notification_title("ann", SPACE, None) == "ann"


@pytest.mark.parametrize(
    ("endpoint", "loopback", "ok"),
    [
        ("https://push.example/send/abc", False, True),
        ("https://push.example:8443/x", False, True),
        ("http://push.example/x", True, False),
        ("http://127.0.0.1:9000/x", False, False),
        ("http://127.0.0.1:9000/x", True, True),
        ("http://[::1]:9000/x", True, True),
        ("http://10.0.0.1/x", True, False),
        ("https://user:secret@push.example/x", False, False),
        ("https:///no-host", False, False),
        ("https://push.example:99999/x", False, False),
        ("wss://push.example/x", False, False),
        ("https://10.1.2.3/x", True, False),
        ("https://[fd00::1]/x", False, False),
        ("https://127.0.0.1/x", True, False),
        ("https://203.0.113.9/x", False, False),
        ("https://8.8.8.8/x", False, True),
    ],
)
def test_only_https_push_endpoints_unless_the_loopback_is_allowed(
    endpoint: str, loopback: bool, ok: bool
) -> None:
    problem = push_endpoint_problem(endpoint, allow_insecure_loopback=loopback)
    assert (problem is None) is ok, problem

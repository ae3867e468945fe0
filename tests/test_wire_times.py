"""Times on the wire: `iso_utc` gives what its definition says, for every kind of value.

The definition is `isoformat` in UTC with milliseconds (cut, not rounded) and `Z`; the
function itself goes through orjson's formatter for speed, which writes microseconds,
leaves out a zero fraction and keeps other offsets, so each of those cases is here.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hubbub.wire.fields import iso_utc


def by_definition(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC), "2026-01-02T03:04:05.678Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC), "2026-01-02T03:04:05.999Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 120_000, tzinfo=UTC), "2026-01-02T03:04:05.120Z"),
        (datetime(9, 1, 1, tzinfo=UTC), "0009-01-01T00:00:00.000Z"),
        (
            datetime(2026, 1, 2, 1, 0, 0, 500_000, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-01T23:00:00.500Z",
        ),
        (
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
            "2026-01-02T08:34:05.000Z",
        ),
    ],
)
def test_a_time_is_written_in_utc_with_milliseconds_and_z(value: datetime, expected: str) -> None:
    assert iso_utc(value) == expected
    assert by_definition(value) == expected


def test_any_time_is_written_as_its_definition_says() -> None:
    draw = random.Random(20261207)
    zones = [UTC, timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=11))]
    for _ in range(20_000):
        value = datetime(
            draw.randrange(2, 9998),
            draw.randrange(1, 13),
            draw.randrange(1, 29),
            draw.randrange(24),
            draw.randrange(60),
            draw.randrange(60),
            draw.choice([0, draw.randrange(1_000_000), 1000 * draw.randrange(1000)]),
            tzinfo=draw.choice(zones),
        )
        assert iso_utc(value) == by_definition(value), value

"""The live unread counts' pacing (`hubbub.realtime.unread.flush_gap`): flushes come
`interval_s` apart, further apart after a flush that took long, so that flushing keeps
to its share of the node's time (`FLUSH_DUTY`)."""

from __future__ import annotations

import pytest

from hubbub.realtime.unread import FLUSH_DUTY, flush_gap


@pytest.mark.parametrize(
    ("interval_s", "took_s", "gap_s"),
    [
        (0.25, 0.0, 0.25),  # an instant flush: the configured interval
        (0.25, 0.01, 0.25),  # a cheap one: still the interval
        (0.25, 0.25 * FLUSH_DUTY, 0.25),  # exactly its share of the interval
        (0.25, 0.27, 0.27 / FLUSH_DUTY),  # a room of 5,000: spaced to keep its share
        (2.0, 0.3, 2.0),  # a longer interval configured: kept
    ],
)
def test_a_long_flush_spaces_the_next_one(interval_s: float, took_s: float, gap_s: float) -> None:
    assert flush_gap(interval_s, took_s) == pytest.approx(gap_s)
    assert took_s <= FLUSH_DUTY * flush_gap(interval_s, took_s) + 1e-12

"""Sends refused at the edge while the node's loop runs late: graceful overload.

Socket handler (`namespace.py`, before a send is validated or taken further) -> here.
Past saturation a node's sends wait where no queue of the server's can see them: in the
sockets' receive buffers and the loop's ready queue, behind everything else the one loop
has to do. The group commit's own bound (`actions/send_batch.py`) sees only the sends
that reached it; at twice the load this node carries (`hubbub bench fanout --overload
2`) none waited there past its bound, and sends were still answered 6.6 s (p50) after
they were written. How late the loop runs is how long a send waits before it is read,
so `LoopLag` measures it (a timer every 50 ms, and how late it fires), and
`SendShedder` refuses new sends at once (`rate_limited`, `retryAfter`) while the loop is
later than its bound and many sends are waiting for their answer: a refused send costs
the loop a parse, where an admitted one costs a commit and its fan-out, so the loop
catches up and what it admits is answered within a bounded time.

The second condition keeps a lone slow moment (a long query on the loop, a collection)
from refusing the few sends of a quiet node: it takes both a late loop and a backlog.
"""

from __future__ import annotations

import asyncio

from hubbub.domain.errors import RateLimited
from hubbub.metrics import Metrics

# How often the loop is probed. Each probe is one timer and one task switch: 20 a
# second is nothing next to the loop's work, and fine enough for a bound of 0.25 s+.
PROBE_INTERVAL_S = 0.05


class LoopLag:
    """How late the serving loop runs what is due: the last probe's lateness, or, while
    a probe is overdue, how overdue it is (a loop stuck for seconds shows it at once,
    not when it next gets round to the probe)."""

    def __init__(self, interval_s: float = PROBE_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._last_s = 0.0
        self._due: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def watch_forever(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        while True:
            due = self._due = loop.time() + self._interval_s
            await asyncio.sleep(self._interval_s)
            self._last_s = max(0.0, loop.time() - due)

    def seconds(self) -> float:
        if self._loop is None or self._due is None:
            return 0.0  # not watching (a node in a test without its lifespan)
        return max(self._last_s, self._loop.time() - self._due)


class SendShedder:
    """Refuses new sends while the loop is later than `max_lag_s` and at least
    `min_in_flight` sends are between their arrival and their answer."""

    def __init__(
        self, lag: LoopLag, metrics: Metrics, *, max_lag_s: float, min_in_flight: int
    ) -> None:
        self._lag = lag
        self._metrics = metrics
        self._max_lag_s = max_lag_s
        self._min_in_flight = min_in_flight
        self.in_flight = 0

    async def watch_loop_forever(self) -> None:
        await self._lag.watch_forever()

    def refusal(self) -> RateLimited | None:
        """A `rate_limited` for a send arriving now, or None to take it."""
        if self.in_flight < self._min_in_flight:
            return None
        lag = self._lag.seconds()
        if lag <= self._max_lag_s:
            return None
        self._metrics.sends_shed.inc()
        return RateLimited(lag, "The server is busy; send again after retryAfter")

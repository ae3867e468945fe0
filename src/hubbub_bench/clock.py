"""The generator's clock: CLOCK_MONOTONIC in nanoseconds.

The clock is system-wide, so an instant taken in one process (the orchestrator, a
worker, the sender of a message) can be compared with one taken in another.
"""

from __future__ import annotations

import asyncio
import time

NS_PER_MS = 1_000_000


async def sleep_until(instant_ns: int) -> None:
    delay = (instant_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)

"""The in-process rate limiter holds no more than its live windows and buckets: a key
seen once (a socket id, an address) does not stay for the life of the process."""

from __future__ import annotations

from hubbub.realtime.limits import MemoryRateLimiter


class ClockedLimiter(MemoryRateLimiter):
    """The limiter on a clock the test moves."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def _now(self) -> float:
        return self.now


async def test_full_buckets_and_ended_windows_are_dropped() -> None:
    limiter = ClockedLimiter()
    for n in range(10_000):  # every socket a key of its own, seen once
        assert await limiter.take_token(f"socket-{n}", 50.0, 100) == 0.0
    for n in range(100):
        await limiter.add_failure(f"address-{n}", 60.0)
    assert len(limiter) == 10_100
    # Long enough for every bucket to be full again and every window to end.
    limiter.now += 120.0
    for _ in range(2 * 4096):  # a busy key keeps the limiter working meanwhile
        await limiter.take_token("busy", 1e9, 1)
        await limiter.add_failure("busy", 60.0)
    assert len(limiter) <= 2, len(limiter)
    # A bucket still refilling is kept, and keeps its state.
    for _ in range(100):
        await limiter.take_token("spent", 1.0, 100)
    for _ in range(4096):
        await limiter.take_token("busy", 1e9, 1)
    assert await limiter.take_token("spent", 1.0, 100) > 0.0

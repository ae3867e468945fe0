"""One contract, every implementation: the rate-limit state seam.

Runs against the in-process implementation always, and against Redis on the
PostgreSQL + Redis run.
"""

from __future__ import annotations

import asyncio

import pytest

from hubbub.state.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.seams import Seam


def limiter_node(seam: Seam) -> RateLimiter:
    """A node's rate limiter: for Redis, over the test's shared prefix."""
    if seam.kind == "memory":
        return MemoryRateLimiter()
    return RedisRateLimiter(seam.client, seam.prefix)


@pytest.fixture
def limiter(seam: Seam) -> RateLimiter:
    return limiter_node(seam)


async def test_failures_count_within_a_window(limiter: RateLimiter) -> None:
    assert await limiter.failures("k") == (0, 0.0)
    assert await limiter.add_failure("k", 60) == 1
    assert await limiter.add_failure("k", 60) == 2
    count, remaining = await limiter.failures("k")
    assert count == 2
    assert 58 < remaining <= 60
    assert (await limiter.failures("other"))[0] == 0


async def test_failure_window_expires(limiter: RateLimiter) -> None:
    await limiter.add_failure("short", 0.2)
    assert (await limiter.failures("short"))[0] == 1
    await asyncio.sleep(0.35)
    assert (await limiter.failures("short"))[0] == 0
    assert await limiter.add_failure("short", 0.2) == 1


async def test_clear_resets(limiter: RateLimiter) -> None:
    await limiter.add_failure("c", 60)
    await limiter.clear("c")
    assert await limiter.failures("c") == (0, 0.0)


async def test_token_bucket_allows_burst_then_waits(limiter: RateLimiter) -> None:
    waits = [await limiter.take_token("bucket", 10.0, 3) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.0 < waits[3] <= 0.1 + 1e-6
    await asyncio.sleep(0.12)
    assert await limiter.take_token("bucket", 10.0, 3) == 0.0
    # Buckets are per key.
    assert await limiter.take_token("another", 10.0, 3) == 0.0


async def test_token_buckets_asked_at_once_are_each_exact(limiter: RateLimiter) -> None:
    """Many takes in flight together (the Redis limiter answers them in one call): each
    bucket gives exactly its burst, the rest wait, and buckets do not share tokens."""
    asks = [("busy", 1.0, 5)] * 8 + [("calm", 1.0, 2)] * 3 + [("fast", 1000.0, 1)]
    waits = await asyncio.gather(*(limiter.take_token(*ask) for ask in asks))
    busy, calm, fast = waits[:8], waits[8:11], waits[11]
    assert busy[:5] == [0.0] * 5
    assert all(0.0 < w <= 1.0 + 1e-6 for w in busy[5:])
    assert calm[:2] == [0.0, 0.0]
    assert 0.0 < calm[2] <= 1.0 + 1e-6
    assert fast == 0.0

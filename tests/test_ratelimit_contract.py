"""One contract, every implementation: the rate-limit state seam.

Failure windows (login attempts) and token buckets (send rate), each per key. Redis
limits are one for every node of a deployment; memory limits are one process's own, so
each node counts alone: those cases are marked with `only`.
"""

from __future__ import annotations

import asyncio

import pytest

from hubbub.realtime.limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.seams import Seam, only


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


async def test_later_failures_do_not_extend_the_window(limiter: RateLimiter) -> None:
    assert await limiter.add_failure("k", 0.5) == 1
    await asyncio.sleep(0.3)
    assert await limiter.add_failure("k", 0.5) == 2
    count, remaining = await limiter.failures("k")
    assert count == 2
    assert 0.0 < remaining <= 0.2
    await asyncio.sleep(remaining + 0.05)
    assert await limiter.failures("k") == (0, 0.0)


async def test_clear_resets_the_key_only(limiter: RateLimiter) -> None:
    for key in ("k", "other"):
        assert await limiter.add_failure(key, 60) == 1
        assert await limiter.take_token(key, 0.5, 1) == 0.0
        assert await limiter.take_token(key, 0.5, 1) > 1.9
    await limiter.clear("k")
    assert await limiter.failures("k") == (0, 0.0)
    assert await limiter.take_token("k", 0.5, 1) == 0.0
    assert (await limiter.failures("other"))[0] == 1
    assert await limiter.take_token("other", 0.5, 1) > 1.9


async def test_a_refusal_costs_nothing_and_says_when_to_retry(limiter: RateLimiter) -> None:
    assert await limiter.take_token("k", 2.0, 1) == 0.0
    first = await limiter.take_token("k", 2.0, 1)
    assert 0.45 < first <= 0.5
    second = await limiter.take_token("k", 2.0, 1)
    assert 0.45 < second <= first
    await asyncio.sleep(second - 0.1)
    almost = await limiter.take_token("k", 2.0, 1)
    assert 0.05 < almost <= 0.1
    await asyncio.sleep(almost + 0.005)
    assert await limiter.take_token("k", 2.0, 1) == 0.0


async def test_a_bucket_refills_at_its_rate(limiter: RateLimiter) -> None:
    assert [await limiter.take_token("k", 4.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    await asyncio.sleep(0.3)  # 1.2 tokens
    assert await limiter.take_token("k", 4.0, 3) == 0.0
    wait = await limiter.take_token("k", 4.0, 3)  # 0.2 token left: 0.8 to go
    assert 0.1 < wait <= 0.2


async def test_a_bucket_refills_up_to_its_burst_only(limiter: RateLimiter) -> None:
    assert await asyncio.gather(*(limiter.take_token("k", 20.0, 2) for _ in range(2))) == [
        0.0,
        0.0,
    ]
    await asyncio.sleep(0.3)  # six tokens' worth, two kept
    waits = await asyncio.gather(*(limiter.take_token("k", 20.0, 2) for _ in range(3)))
    assert waits[:2] == [0.0, 0.0]
    assert 0.04 < waits[2] <= 0.05


async def test_windows_and_buckets_are_apart_whatever_their_names(limiter: RateLimiter) -> None:
    # Names that look like how another shape may be stored ("b:" + a bucket's key).
    assert await limiter.take_token("k", 1.0, 1) == 0.0
    assert await limiter.add_failure("b:k", 60) == 1
    assert await limiter.add_failure("k", 60) == 1
    assert (await limiter.failures("b:k"))[0] == 1
    assert await limiter.take_token("k", 1.0, 1) > 0.9
    assert await limiter.take_token("b:k", 1.0, 1) == 0.0
    await limiter.clear("k")
    assert await limiter.failures("k") == (0, 0.0)
    assert await limiter.take_token("k", 1.0, 1) == 0.0
    assert (await limiter.failures("b:k"))[0] == 1
    assert await limiter.take_token("b:k", 1.0, 1) > 0.9


@only("redis", "memory: one node only; each node counts alone (test_memory_nodes_count_alone)")
async def test_nodes_share_limits(seam: Seam) -> None:
    a, b = limiter_node(seam), limiter_node(seam)
    assert await a.add_failure("k", 60) == 1
    assert await b.add_failure("k", 60) == 2
    assert (await a.failures("k"))[0] == 2
    assert await a.take_token("k", 1.0, 2) == 0.0
    assert await b.take_token("k", 1.0, 2) == 0.0
    assert await a.take_token("k", 1.0, 2) > 0.9
    await b.clear("k")
    assert await a.failures("k") == (0, 0.0)
    assert await a.take_token("k", 1.0, 2) == 0.0


@only("memory", "redis: nodes share one set of limits (test_nodes_share_limits)")
async def test_memory_nodes_count_alone(seam: Seam) -> None:
    a, b = limiter_node(seam), limiter_node(seam)
    assert await a.add_failure("k", 60) == 1
    assert await b.add_failure("k", 60) == 1
    assert await a.take_token("k", 1.0, 1) == 0.0
    assert await b.take_token("k", 1.0, 1) == 0.0
    await b.clear("k")
    assert (await a.failures("k"))[0] == 1
    assert await a.take_token("k", 1.0, 1) > 0.9

"""Rate-limit state: one of the narrow seams between the embedded and the scaled mode.

Services ask a `RateLimiter`; the composition root picks `MemoryRateLimiter` (one
process) or `RedisRateLimiter` (shared by every node). Both pass the same contract
tests. Two shapes are offered: failure windows (login attempts) and token buckets
(send rate).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from hubbub.realtime.pipelining import Pipelined


class RateLimiter(Protocol):
    async def failures(self, key: str) -> tuple[int, float]:
        """(failures counted in the current window, seconds until that window ends)."""

    async def add_failure(self, key: str, window_s: float) -> int:
        """Count one failure; the window starts with the first failure. Returns the count."""

    async def clear(self, key: str) -> None: ...

    async def take_token(self, key: str, rate_per_s: float, burst: int) -> float:
        """Take one token from the bucket: 0.0 if allowed, else seconds until one is free."""


class MemoryRateLimiter:
    """Windows and buckets in this process's memory. Neither grows with the keys ever
    seen: every 4,096 operations, windows that have ended and buckets full again (the
    same as no bucket) are dropped."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        # key -> (tokens, updated, when it is full again)
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._ops = 0

    def __len__(self) -> int:
        """Windows and buckets held."""
        return len(self._windows) + len(self._buckets)

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def _prune(self, now: float) -> None:
        self._ops += 1
        if self._ops % 4096:
            return
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        self._buckets = {k: v for k, v in self._buckets.items() if v[2] > now}

    async def failures(self, key: str) -> tuple[int, float]:
        now = self._now()
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            return 0, 0.0
        return count, ends - now

    async def add_failure(self, key: str, window_s: float) -> int:
        now = self._now()
        self._prune(now)
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_s
        self._windows[key] = (count + 1, ends)
        return count + 1

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)
        self._buckets.pop(key, None)

    async def take_token(self, key: str, rate_per_s: float, burst: int) -> float:
        now = self._now()
        self._prune(now)
        tokens, updated, _ = self._buckets.get(key, (float(burst), now, now))
        tokens = min(float(burst), tokens + (now - updated) * rate_per_s)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate_per_s
        self._buckets[key] = (tokens, now, now + (burst - tokens) / rate_per_s)
        return wait


# KEYS: buckets; ARGV: now (seconds, float), then rate per second and burst for each
# bucket. Returns each bucket's wait (0 when a token was taken), in order. A bucket named
# twice is taken from twice, in order. Redis time is not used so that the caller's clock
# and tests agree; nodes' clocks only need to be close.
_BUCKETS_SCRIPT = """
local now = tonumber(ARGV[1])
local waits = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 't', 'u')
  local tokens = tonumber(state[1]) or burst
  local updated = tonumber(state[2]) or now
  if now > updated then
    tokens = math.min(burst, tokens + (now - updated) * rate)
  end
  local wait = 0
  if tokens >= 1 then
    tokens = tokens - 1
  else
    wait = (1 - tokens) / rate
  end
  redis.call('HSET', key, 't', tostring(tokens), 'u', tostring(math.max(now, updated)))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
  waits[i] = tostring(wait)
end
return waits
"""

_Take = tuple[str, float, int, "asyncio.Future[float]"]


class RedisRateLimiter:
    def __init__(
        self, redis: Redis, prefix: str, observe: Callable[[float], None] | None = None
    ) -> None:
        """`observe` hears of each round trip's seconds (a metric)."""
        self._redis = redis
        self._prefix = prefix + "rl:"
        # Failure windows and token buckets in namespaces of their own ("w:", "b:"), so
        # that no key of one shape is stored where the other shape keeps another key.
        self._windows = self._prefix + "w:"
        self._local = MemoryRateLimiter()
        # Every token asked for while an EVAL is in flight goes in the next one: one
        # command for many sends (redis-py's cost is per command). EVAL needs no load
        # step, so a restarted Redis needs none either.
        self._pipelined = Pipelined(redis, on_lost=lambda _: None, observe=observe)
        self._takes: list[_Take] = []
        self._taker: asyncio.Task[None] | None = None

    # Redis away: failures are counted by this node alone until it returns (sign-in goes
    # on, still limited), as tokens are (`take_token`).

    async def failures(self, key: str) -> tuple[int, float]:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self._windows + key)
                pipe.pttl(self._windows + key)
                raw, ttl_ms = await pipe.execute()
        except (RedisError, OSError):
            return await self._local.failures(key)
        if raw is None or ttl_ms is None or ttl_ms < 0:
            return await self._local.failures(key)
        return int(raw), ttl_ms / 1000.0

    async def add_failure(self, key: str, window_s: float) -> int:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(self._windows + key)
                pipe.pexpire(self._windows + key, int(window_s * 1000), nx=True)
                count, _ = await pipe.execute()
        except (RedisError, OSError):
            return await self._local.add_failure(key, window_s)
        return int(count)

    async def clear(self, key: str) -> None:
        await self._local.clear(key)
        try:
            await self._redis.delete(self._windows + key, self._prefix + "b:" + key)
        except (RedisError, OSError):
            return

    async def take_token(self, key: str, rate_per_s: float, burst: int) -> float:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._takes.append((self._prefix + "b:" + key, rate_per_s, burst, future))
        if self._taker is None or self._taker.done():
            self._taker = asyncio.create_task(self._take_all(), name="hubbub-rate-limits")
        try:
            return await future
        except (RedisError, OSError):
            # Redis is away: a node keeps accepting sends (docs/guarantees.md, 5), limited by
            # this node's own buckets until Redis returns.
            return await self._local.take_token(key, rate_per_s, burst)

    async def _take_all(self) -> None:
        while self._takes:
            takes, self._takes = self._takes, []
            args: list[float] = [time.time()]
            for _, rate, burst, _ in takes:
                args += [rate, burst]
            keys = [bucket for bucket, *_ in takes]
            try:
                waits = await self._pipelined.call(_eval_buckets(keys, args))
            except Exception as exc:  # each caller decides what a failure means
                for *_, future in takes:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), wait in zip(takes, waits, strict=True):
                if not future.done():
                    future.set_result(float(wait))


def _eval_buckets(keys: list[str], args: list[float]) -> Callable[[Pipeline], object]:
    return lambda pipe: pipe.eval(_BUCKETS_SCRIPT, len(keys), *keys, *args)

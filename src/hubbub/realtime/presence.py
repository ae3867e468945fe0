"""Presence state: which users have a socket connected somewhere. A narrow seam.

The gateway reports each socket's arrival and departure; `connected` / `disconnected`
answer how many sockets the user has left anywhere, so the gateway announces
`user_online` on the first and `user_offline` after the last. `MemoryPresence` serves
one process; `RedisPresence` counts sockets of every node in one sorted set per user,
each entry scored by its expiry, which its node keeps pushing forward: the entries of
a node that dies without a goodbye lapse after `ttl_s` instead of keeping users online.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("hubbub.realtime")


class Presence(Protocol):
    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]: ...

    async def connected(self, user_id: uuid.UUID, socket_id: str) -> int: ...

    async def disconnected(self, user_id: uuid.UUID, socket_id: str) -> int: ...

    async def refresh(self, sockets: Iterable[tuple[uuid.UUID, str]]) -> None: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._sockets: dict[uuid.UUID, set[str]] = {}

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return {u for u in user_ids if self._sockets.get(u)}

    async def connected(self, user_id: uuid.UUID, socket_id: str) -> int:
        sockets = self._sockets.setdefault(user_id, set())
        sockets.add(socket_id)
        return len(sockets)

    async def disconnected(self, user_id: uuid.UUID, socket_id: str) -> int:
        sockets = self._sockets.get(user_id, set())
        sockets.discard(socket_id)
        if not sockets:
            self._sockets.pop(user_id, None)
        return len(sockets)

    async def refresh(self, sockets: Iterable[tuple[uuid.UUID, str]]) -> None:
        return None


class RedisPresence:
    def __init__(self, redis: Redis, prefix: str, *, node_id: str, ttl_s: float = 60.0) -> None:
        self._redis = redis
        self._prefix = prefix + "presence:"
        self._node = node_id
        self.ttl_s = ttl_s
        # The key outlives its newest entry (whole seconds would round a short TTL to 0:
        # the key deleted as it was written).
        self._key_ttl_ms = math.ceil(ttl_s * 2000)

    def _key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}{user_id}"

    def _member(self, socket_id: str) -> str:
        return f"{self._node}:{socket_id}"

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        ids = list(user_ids)
        if not ids:
            return set()
        now = time.time()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for uid in ids:
                    pipe.zcount(self._key(uid), now, "+inf")
                counts = await pipe.execute()
        except (RedisError, OSError):
            # Redis away: nobody is known to be online, and whatever asked (a profile, a
            # conversation's participants) is still answered.
            log.debug("presence unknown: Redis unreachable", exc_info=True)
            return set()
        return {uid for uid, n in zip(ids, counts, strict=True) if n}

    async def connected(self, user_id: uuid.UUID, socket_id: str) -> int:
        now = time.time()
        key = self._key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {self._member(socket_id): now + self.ttl_s})
            pipe.zcard(key)
            pipe.pexpire(key, self._key_ttl_ms)
            *_, count, _ = await pipe.execute()
        return int(count)

    async def disconnected(self, user_id: uuid.UUID, socket_id: str) -> int:
        now = time.time()
        key = self._key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, self._member(socket_id))
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            *_, count = await pipe.execute()
        return int(count)

    async def refresh(self, sockets: Iterable[tuple[uuid.UUID, str]]) -> None:
        until = time.time() + self.ttl_s
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, socket_id in sockets:
                pipe.zadd(self._key(user_id), {self._member(socket_id): until})
                pipe.pexpire(self._key(user_id), self._key_ttl_ms)
            await pipe.execute()

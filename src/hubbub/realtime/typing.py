"""Typing state: who is typing where, with expiry. A narrow seam (memory | Redis).

`start` answers whether the state changed (not typing -> typing), so only changes are
broadcast; a repeat refreshes the expiry. `stop` answers whether the user was typing.
`remaining` tells a node's expiry timer whether someone (maybe on another node)
refreshed the state meanwhile.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

from redis.asyncio import Redis


class TypingState(Protocol):
    async def start(self, conversation_id: uuid.UUID, user_id: uuid.UUID, ttl_s: float) -> bool: ...

    async def stop(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool: ...

    async def remaining(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> float: ...


class MemoryTypingState:
    def __init__(self) -> None:
        self._until: dict[tuple[uuid.UUID, uuid.UUID], float] = {}

    async def start(self, conversation_id: uuid.UUID, user_id: uuid.UUID, ttl_s: float) -> bool:
        key = (conversation_id, user_id)
        now = time.monotonic()
        was = self._until.get(key, 0.0) > now
        self._until[key] = now + ttl_s
        return not was

    async def stop(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        until = self._until.pop((conversation_id, user_id), 0.0)
        return until > time.monotonic()

    async def remaining(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> float:
        left = self._until.get((conversation_id, user_id), 0.0) - time.monotonic()
        if left <= 0:
            self._until.pop((conversation_id, user_id), None)
        return max(0.0, left)


class RedisTypingState:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "typing:"

    def _key(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> str:
        return f"{self._prefix}{conversation_id}:{user_id}"

    async def start(self, conversation_id: uuid.UUID, user_id: uuid.UUID, ttl_s: float) -> bool:
        # One command, so the state cannot lapse between "is it there?" and "push its
        # expiry": set it with the new expiry either way; it is new if nothing was there.
        was = await self._redis.set(
            self._key(conversation_id, user_id), b"1", px=int(ttl_s * 1000), get=True
        )
        return was is None

    async def stop(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return bool(await self._redis.delete(self._key(conversation_id, user_id)))

    async def remaining(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> float:
        ttl_ms = await self._redis.pttl(self._key(conversation_id, user_id))
        return max(0.0, ttl_ms / 1000.0) if ttl_ms and ttl_ms > 0 else 0.0

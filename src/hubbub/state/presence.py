"""Presence state: which users have a socket connected somewhere.

A narrow seam: `MemoryPresence` in the embedded default; the scaled mode's Redis
implementation shares it across nodes. Services read it to fill `isOnline`; the
gateway writes it as sockets come and go.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol


class Presence(Protocol):
    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._sockets: dict[uuid.UUID, int] = {}

    async def online(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return {u for u in user_ids if self._sockets.get(u, 0) > 0}

    async def connected(self, user_id: uuid.UUID) -> int:
        self._sockets[user_id] = self._sockets.get(user_id, 0) + 1
        return self._sockets[user_id]

    async def disconnected(self, user_id: uuid.UUID) -> int:
        left = max(0, self._sockets.get(user_id, 0) - 1)
        if left:
            self._sockets[user_id] = left
        else:
            self._sockets.pop(user_id, None)
        return left

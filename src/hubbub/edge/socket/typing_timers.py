"""Typing indicators of this node's users: start, stop, and the timer that ends them.

Called by the socket handlers (`typing`, `stop_typing`, a send, a last disconnect).
The shared state (`hubbub.realtime.typing`: in process, or in Redis across nodes) says
whether a user is typing in a conversation; `typing` / `stop_typing` events go to the
other participants only when that state changes. A `typing` not refreshed within the
TTL ends by itself: the timer re-reads the shared state, since another node may have
refreshed it meanwhile.
"""

from __future__ import annotations

import asyncio
import uuid

from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.events.catalog import StopTyping, Typing
from hubbub.realtime.bus import EventBus
from hubbub.realtime.hub import Hub
from hubbub.realtime.sockets import SocketState
from hubbub.realtime.typing import TypingState


class TypingTimers:
    def __init__(
        self,
        hub: Hub,
        typing: TypingState,
        bus: EventBus,
        tasks: BackgroundTasks,
        *,
        ttl_s: float,
    ) -> None:
        self._hub = hub
        self._typing = typing
        self._bus = bus
        self._tasks = tasks
        self._ttl_s = ttl_s
        self._timers: dict[tuple[uuid.UUID, uuid.UUID], asyncio.TimerHandle] = {}

    async def start(self, state: SocketState, cid: uuid.UUID) -> None:
        uid = state.user_id
        for s in self._hub.user_sockets(uid):
            s.typing_started(cid)
        if await self._typing.start(cid, uid, self._ttl_s):
            await self._bus.publish([Typing(cid, uid, state.username)])
        self._arm(cid, uid, self._ttl_s)

    async def stop(self, cid: uuid.UUID, uid: uuid.UUID) -> None:
        timer = self._timers.pop((cid, uid), None)
        if timer is not None:
            timer.cancel()
        for s in self._hub.user_sockets(uid):
            s.typing_stopped(cid)
        if await self._typing.stop(cid, uid):
            await self._bus.publish([StopTyping(cid, uid)])

    def _arm(self, cid: uuid.UUID, uid: uuid.UUID, delay: float) -> None:
        old = self._timers.pop((cid, uid), None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[(cid, uid)] = loop.call_later(
            delay, lambda: self._tasks.spawn(self._expired(cid, uid))
        )

    async def _expired(self, cid: uuid.UUID, uid: uuid.UUID) -> None:
        self._timers.pop((cid, uid), None)
        left = await self._typing.remaining(cid, uid)
        if left > 0:  # refreshed meanwhile (perhaps on another node)
            self._arm(cid, uid, left)
            return
        for s in self._hub.user_sockets(uid):
            s.typing_stopped(cid)
        await self._typing.stop(cid, uid)
        await self._bus.publish([StopTyping(cid, uid)])

    def __len__(self) -> int:
        """Timers armed."""
        return len(self._timers)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

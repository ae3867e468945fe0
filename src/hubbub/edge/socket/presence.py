"""Presence of this node's users: online at the first socket, offline after the last.

Called by the namespace's connect and disconnect handlers. The shared count of a user's
sockets (`hubbub.realtime.presence`: in process, or in Redis across nodes) says when a
user comes online (`user_online` to their contacts) and when their last socket has
gone; `user_offline` follows after a grace period, so a reload or a quick reconnect
does not flicker. Every socket's entry is refreshed in the background, a slice of the
sockets at a time. Without Redis, sockets still connect: this node's own sockets say
whether one is the first or the last.

A quick reconnect on one node is a disconnect and a connect whose counts (in Redis)
interleave with the handlers' awaits: the old socket's count can reach 0 and the new
one's 1 before the disconnect's handler has set its grace timer. The connect then sees
a count of 1 while a disconnect of the same user is still under way here (`_leaving`):
that count follows the disconnect's 0, so it is a reconnect, not a user coming online.
And a disconnect whose count reaches 0 sets its timer even when a new socket of the
user is already in the hub (its count is still to come, and cancels the timer);
`_maybe_offline` never announces a user with a socket here.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from hubbub.domain.ids import utcnow
from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.edge.socket.typing_timers import TypingTimers
from hubbub.events.catalog import UserOffline
from hubbub.metrics import Metrics
from hubbub.realtime.bus import EventBus
from hubbub.realtime.hub import Hub
from hubbub.realtime.presence import Presence
from hubbub.realtime.sockets import SocketState

# The refresh is spread over its period in this many slices: one pipeline of 10,000
# commands (5,000 sockets) held the loop for a third of a second every 20 s.
PRESENCE_REFRESH_SLICES = 20


@dataclass(frozen=True)
class PresenceTimings:
    grace_s: float
    refresh_s: float


class TooManySockets(Exception):
    """The user already holds the most sockets allowed (on every node)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} connections per user")
        self.limit = limit


MarkSeen = Callable[[uuid.UUID, datetime], Awaitable[None]]


class PresenceLifecycle:
    def __init__(
        self,
        hub: Hub,
        *,
        presence: Presence,
        bus: EventBus,
        metrics: Metrics,
        tasks: BackgroundTasks,
        typing: TypingTimers,
        mark_seen: MarkSeen,
        timings: PresenceTimings,
        max_sockets_per_user: int,
    ) -> None:
        self._hub = hub
        self._presence = presence
        self._bus = bus
        self._metrics = metrics
        self._tasks = tasks
        self._typing = typing
        self._mark_seen = mark_seen
        self._timings = timings
        self._max_sockets = max_sockets_per_user
        self._offline_timers: dict[uuid.UUID, asyncio.TimerHandle] = {}
        # Users -> their sockets' disconnects under way here, awaiting the count.
        self._leaving: dict[uuid.UUID, int] = {}

    async def connected(self, state: SocketState) -> bool:
        """Count the socket (already in the hub); whether its user just came online.
        Raises `TooManySockets`, the socket uncounted, when its user holds too many: the
        count is of every node's sockets (of this node's alone while Redis is away)."""
        try:
            count = await self._presence.connected(state.user_id, state.sid)
        except (RedisError, OSError):
            # Presence is shared state in Redis; without it the socket still connects
            # and this node's own sockets say whether it is the first.
            self._metrics.redis_failures.labels("presence").inc()
            count = len(self._hub.user_sockets(state.user_id))
        if count > self._max_sockets:
            with contextlib.suppress(RedisError, OSError):
                await self._presence.disconnected(state.user_id, state.sid)
            raise TooManySockets(self._max_sockets)
        timer = self._offline_timers.pop(state.user_id, None)
        if timer is not None:
            timer.cancel()
        return count == 1 and timer is None and state.user_id not in self._leaving

    async def disconnected(self, state: SocketState) -> None:
        """The socket has left the hub: if it was its user's last, end their typing and
        announce them offline after the grace period."""
        user_id = state.user_id
        self._leaving[user_id] = self._leaving.get(user_id, 0) + 1
        try:
            left = await self._presence.disconnected(user_id, state.sid)
        except (RedisError, OSError):
            self._metrics.redis_failures.labels("presence").inc()
            return
        finally:
            if (still := self._leaving.pop(user_id) - 1) > 0:
                self._leaving[user_id] = still
        if left != 0:
            return
        # Before any await: a connect that counts after this must find the timer.
        earlier = self._offline_timers.pop(user_id, None)
        if earlier is not None:
            earlier.cancel()
        loop = asyncio.get_running_loop()
        self._offline_timers[user_id] = loop.call_later(
            self._timings.grace_s, lambda: self._tasks.spawn(self._maybe_offline(user_id))
        )
        if not self._hub.user_sockets(user_id):
            for cid in state.typing_where():
                await self._typing.stop(cid, user_id)

    async def _maybe_offline(self, user_id: uuid.UUID) -> None:
        self._offline_timers.pop(user_id, None)
        if self._hub.user_sockets(user_id):
            return  # a socket of theirs is here (its count lost, or still to come)
        try:
            if user_id in await self._presence.online([user_id]):
                return
        except (RedisError, OSError):
            self._metrics.redis_failures.labels("presence").inc()
        seen = utcnow()
        await self._mark_seen(user_id, seen)
        await self._bus.publish([UserOffline(user_id, seen)])

    async def refresh_forever(self) -> None:
        """Every socket's presence entry is refreshed once per `refresh_s`, a slice of
        the sockets at a time (a socket that connects meanwhile was stamped by its
        handshake and waits for the next round, well within the entries' TTL)."""
        step = self._timings.refresh_s / PRESENCE_REFRESH_SLICES
        while True:
            sockets = [(s.user_id, s.sid) for s in self._hub.sockets.values()]
            per_slice = -(-len(sockets) // PRESENCE_REFRESH_SLICES)
            for i in range(PRESENCE_REFRESH_SLICES):
                await asyncio.sleep(step)
                # Only sockets still here: a refreshed entry of a gone one would linger.
                chunk = [
                    (user_id, sid)
                    for user_id, sid in sockets[i * per_slice : (i + 1) * per_slice]
                    if sid in self._hub.sockets
                ]
                if not chunk:
                    continue
                try:
                    await self._presence.refresh(chunk)
                except (RedisError, OSError):
                    self._metrics.redis_failures.labels("presence").inc()

    def __len__(self) -> int:
        """Users waiting out their grace period before going offline."""
        return len(self._offline_timers)

    def close(self) -> None:
        for timer in self._offline_timers.values():
            timer.cancel()
        self._offline_timers.clear()

"""A user's presence on one node when a socket leaves and another comes at once
(`hubbub.edge.socket.presence.PresenceLifecycle`): a quick reconnect announces
nothing, however the counts' answers interleave with the handlers, and a user whose
last socket has gone is announced offline once, after the grace period.

The counts are kept in process, as Redis keeps them, and each answer reaches its
handler only when the test lets it: the interleavings a loaded node produces."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from hubbub.edge.socket.presence import PresenceLifecycle, PresenceTimings
from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.edge.socket.typing_timers import TypingTimers
from hubbub.events.catalog import ServerEvent, UserOffline
from hubbub.metrics import Metrics
from hubbub.realtime.bus import InProcessEventBus
from hubbub.realtime.presence import MemoryPresence
from hubbub.realtime.sockets import SocketState
from hubbub.realtime.typing import MemoryTypingState
from tests.test_hub import Scene, new_scene

GRACE_S = 0.05


class HeldPresence(MemoryPresence):
    """Counts at once, and answers a socket's count only once the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self._held: dict[str, asyncio.Event] = {}

    def hold(self, socket_id: str) -> asyncio.Event:
        self._held[socket_id] = asyncio.Event()
        return self._held[socket_id]

    async def connected(self, user_id: uuid.UUID, socket_id: str) -> int:
        count = await super().connected(user_id, socket_id)
        await self._answer(socket_id)
        return count

    async def disconnected(self, user_id: uuid.UUID, socket_id: str) -> int:
        count = await super().disconnected(user_id, socket_id)
        await self._answer(socket_id)
        return count

    async def _answer(self, socket_id: str) -> None:
        held = self._held.pop(socket_id, None)
        if held is not None:
            await held.wait()


class RecordingBus(InProcessEventBus):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[ServerEvent] = []

    async def publish(self, events: Sequence[ServerEvent]) -> None:
        self.published.extend(events)
        await super().publish(events)


class Node:
    def __init__(self) -> None:
        self.scene: Scene = new_scene()
        self.presence = HeldPresence()
        self.bus = RecordingBus()
        tasks = BackgroundTasks()
        hub = self.scene.hub
        self.lifecycle = PresenceLifecycle(
            hub,
            presence=self.presence,
            bus=self.bus,
            metrics=Metrics(),
            tasks=tasks,
            typing=TypingTimers(hub, MemoryTypingState(), self.bus, tasks, ttl_s=5),
            mark_seen=self._seen,
            timings=PresenceTimings(grace_s=GRACE_S, refresh_s=60),
            max_sockets_per_user=10,
        )

    async def _seen(self, user_id: uuid.UUID, at: object) -> None:
        return None

    def offline(self, user_id: uuid.UUID) -> int:
        return sum(isinstance(e, UserOffline) and e.user_id == user_id for e in self.bus.published)

    async def connect(self, user_id: uuid.UUID) -> tuple[SocketState, bool]:
        """A socket in the hub, then counted (as the namespace's handshake does)."""
        state = self.scene.connect(user_id)
        return state, await self.lifecycle.connected(state)

    def leaving(self, state: SocketState) -> asyncio.Task[None]:
        """Out of the hub, then uncounted (as the namespace's disconnect does)."""
        self.scene.hub.remove(state.sid)
        return asyncio.ensure_future(self.lifecycle.disconnected(state))


async def test_a_quick_reconnect_announces_nothing_however_the_answers_interleave() -> None:
    for new_answer_first in (True, False):
        node, user = Node(), uuid.uuid4()
        first, came_online = await node.connect(user)
        assert came_online
        old_answer = node.presence.hold(first.sid)
        leaving = node.leaving(first)
        await asyncio.sleep(0)  # counted: 0
        second = node.scene.connect(user)
        new_answer = node.presence.hold(second.sid)
        connecting = asyncio.ensure_future(node.lifecycle.connected(second))
        await asyncio.sleep(0)  # counted: 1
        for answer in (new_answer, old_answer) if new_answer_first else (old_answer, new_answer):
            answer.set()
            await asyncio.sleep(0)
        await asyncio.wait_for(leaving, 5)
        assert await asyncio.wait_for(connecting, 5) is False, new_answer_first
        await asyncio.sleep(GRACE_S * 4)
        assert node.offline(user) == 0, new_answer_first
        assert node.scene.hub.sids_of(user) == {second.sid}


async def test_a_user_whose_last_socket_left_is_offline_once_after_the_grace() -> None:
    node, user = Node(), uuid.uuid4()
    first, _ = await node.connect(user)
    second, came_online = await node.connect(user)
    assert not came_online  # the user's second socket
    await node.leaving(first)
    await node.leaving(second)
    assert node.offline(user) == 0  # not before the grace period
    await asyncio.sleep(GRACE_S * 4)
    assert node.offline(user) == 1
    _, came_online = await node.connect(user)
    assert came_online

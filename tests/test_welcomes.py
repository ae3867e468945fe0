"""What follows a handshake (`hubbub.edge.socket.welcome`): every `connection_success`,
then the users who came online announced in chunks; and the bound on users not yet
announced, past which the next handshakes wait (a storm goes at its announcements'
pace instead of piling up behind them)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.edge.socket.welcome import MAX_UNANNOUNCED, ONLINE_CHUNK, Welcomes
from hubbub.events.catalog import ServerEvent, UserOnline
from hubbub.metrics import Metrics
from hubbub.realtime.hub import Hub
from hubbub.realtime.sockets import Circle, SocketState
from tests.test_hub import FakeTransport


class HeldPublisher:
    """Publishes nothing until released; records what it was given, chunk by chunk."""

    def __init__(self) -> None:
        self.chunks: list[list[uuid.UUID]] = []
        self.release = asyncio.Event()

    async def publish(self, events: Sequence[ServerEvent]) -> None:
        await self.release.wait()
        self.chunks.append([e.user_id for e in events if isinstance(e, UserOnline)])


async def no_circles(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Circle]:
    return {uid: Circle(frozenset(), frozenset()) for uid in user_ids}


async def no_conversations(user_id: uuid.UUID) -> list[uuid.UUID]:
    return []


def arrive(hub: Hub, welcomes: Welcomes, n: int) -> list[SocketState]:
    states = []
    for i in range(n):
        state = SocketState(f"s{i}", f"e{i}", uuid.uuid4(), f"u{i}", uuid.uuid4())
        hub.add(state)
        welcomes.add(state, 0.001, first=True)
        states.append(state)
    return states


async def test_handshakes_wait_while_too_many_users_are_unannounced() -> None:
    transport = FakeTransport()
    hub = Hub(transport, Metrics(), circles_of=no_circles, conversations_of=no_conversations)
    publisher = HeldPublisher()
    tasks = BackgroundTasks()
    welcomes = Welcomes(hub, publisher.publish, tasks)
    await asyncio.wait_for(welcomes.room(), 1)  # nobody unannounced: no wait

    states = arrive(hub, welcomes, MAX_UNANNOUNCED)
    waiting = asyncio.ensure_future(welcomes.room())
    await asyncio.sleep(0.05)

    # Every socket has its connection_success; the announcements are held, and so is
    # the next handshake.
    assert all(transport.names(s) == ["connection_success"] for s in states)
    assert publisher.chunks == []
    assert not waiting.done()

    publisher.release.set()
    await asyncio.wait_for(waiting, 1)
    for _ in range(100):
        if sum(map(len, publisher.chunks)) == MAX_UNANNOUNCED:
            break
        await asyncio.sleep(0.01)
    assert [len(c) for c in publisher.chunks] == [ONLINE_CHUNK] * (MAX_UNANNOUNCED // ONLINE_CHUNK)
    assert [u for c in publisher.chunks for u in c] == [s.user_id for s in states]
    await asyncio.wait_for(welcomes.room(), 1)


async def test_a_failed_announcement_does_not_hold_handshakes_for_good() -> None:
    async def failing(events: Sequence[ServerEvent]) -> None:
        raise RuntimeError("the bus is down")

    hub = Hub(FakeTransport(), Metrics(), circles_of=no_circles, conversations_of=no_conversations)
    welcomes = Welcomes(hub, failing, BackgroundTasks())
    arrive(hub, welcomes, MAX_UNANNOUNCED + 3)

    await asyncio.wait_for(welcomes.room(), 1)

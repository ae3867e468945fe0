"""What follows a handshake, for every handshake finished meanwhile, from one task.

A handshake's answer (Socket.IO's CONNECT) goes out when `on_connect` returns; what the
socket hears next, `connection_success`, and the `user_online` of its user if it is the
user's first socket, must come after it. Rather than a task per socket, each handshake
adds itself here and one task, started by the first of them, runs after the handlers
have returned: it writes every `connection_success` waiting, then publishes the users
who came online together (one bus publish, one Redis message and, on this node, one
contacts query, however many handshakes a storm brought meanwhile).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.events.catalog import ServerEvent, UserOnline
from hubbub.realtime.hub import Hub, SocketState
from hubbub.wire.fields import iso_utc

Publish = Callable[[Sequence[ServerEvent]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Arrival:
    state: SocketState
    took_s: float
    first: bool  # its user's first socket: announce them online


class Welcomes:
    def __init__(self, hub: Hub, publish: Publish, tasks: BackgroundTasks) -> None:
        self._hub = hub
        self._publish = publish
        self._tasks = tasks
        self._waiting: list[Arrival] = []

    def add(self, state: SocketState, took_s: float, *, first: bool) -> None:
        """Called as the handshake's last step, just before its answer goes out."""
        if not self._waiting:
            self._tasks.spawn(self._send())
        self._waiting.append(Arrival(state, took_s, first))

    def __len__(self) -> int:
        return len(self._waiting)

    async def _send(self) -> None:
        await asyncio.sleep(0)  # the handlers that added themselves return first
        arrivals, self._waiting = self._waiting, []
        now = datetime.now(UTC)
        online: dict[uuid.UUID, UserOnline] = {}
        for arrival in arrivals:
            state = arrival.state
            await self._hub.emit_to(
                state.sid,
                "connection_success",
                {
                    "userId": str(state.user_id),
                    "socketId": state.sid,
                    "connectionTime": round(arrival.took_s * 1000, 3),
                    "serverTime": iso_utc(now),
                },
            )
            if arrival.first:
                online.setdefault(state.user_id, UserOnline(state.user_id, now))
        if online:
            async with self._hub.contacts_read(list(online)):
                await self._publish(list(online.values()))

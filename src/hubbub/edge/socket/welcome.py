"""What follows a handshake, for every handshake finished meanwhile, from one task.

A handshake's answer (Socket.IO's CONNECT) goes out when `on_connect` returns; what the
socket hears next, `connection_success`, and the `user_online` of its user if it is the
user's first socket, must come after it. Rather than a task per socket, each handshake
adds itself here and one task, started by the first of them, runs after the handlers
have returned: it writes every `connection_success` waiting, then publishes the users
who came online together, sixteen at a time (one bus publish, one Redis message and, on
this node, one read of their circles per sixteen, however many handshakes a storm
brought meanwhile), letting the loop serve waiting handshakes between.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.events.catalog import ServerEvent, UserOnline
from hubbub.realtime.hub import Hub
from hubbub.realtime.sockets import SocketState
from hubbub.wire.fields import iso_utc

# Users announced online per read of circles and publish. Their `user_online`s reach all
# their contacts: in a room of 5,000 members, a batch of 1,000 handshakes was 2.5 M
# socket writes in one turn of the loop (and, until circles replaced contact lists, a
# read of 5 M contact rows), long enough for the next handshakes to time out (1,026 of
# 5,000 did). Sixteen at a time bounds a turn at about 40,000 writes in that room; in a
# storm of small circles it is still one query per sixteen users rather than one each.
ONLINE_CHUNK = 16

# Users come online here and not yet announced, past which a handshake waits before it
# answers (`room`). Announcing is the costly part of a storm in a big room (every
# `user_online` to every member: 12.5 M writes for 5,000 members), and a handshake that
# answered at once let the next ones pile up behind an ever longer backlog until they
# timed out (365 of 5,000 with announcements bounded per turn but not in number). With
# this bound the storm goes at the pace of its announcements, as before batching, and
# a storm of small circles, whose announcements keep up, waits little if at all.
MAX_UNANNOUNCED = 64

log = logging.getLogger("hubbub.edge.socket")

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
        self._unannounced = 0
        self._has_room = asyncio.Event()
        self._has_room.set()

    async def room(self) -> None:
        """Wait while too many users are still to be announced (`MAX_UNANNOUNCED`)."""
        while self._unannounced >= MAX_UNANNOUNCED:
            await self._has_room.wait()

    def add(self, state: SocketState, took_s: float, *, first: bool) -> None:
        """Called as the handshake's last step, just before its answer goes out."""
        if not self._waiting:
            self._tasks.spawn(self._send())
        self._waiting.append(Arrival(state, took_s, first))
        if first:
            self._unannounced += 1
            if self._unannounced >= MAX_UNANNOUNCED:
                self._has_room.clear()

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
        owed = sum(arrival.first for arrival in arrivals)
        users = list(online)
        try:
            for i in range(0, len(users), ONLINE_CHUNK):
                chunk = users[i : i + ONLINE_CHUNK]
                try:
                    async with self._hub.circles_read(chunk):
                        await self._publish([online[uid] for uid in chunk])
                except Exception:  # the next chunk may fare better; presence self-heals
                    log.exception("announcing %d users online failed", len(chunk))
                done = min(owed, len(chunk))
                owed -= done
                self._announced(done)
                await asyncio.sleep(0)  # handshakes waiting meanwhile go first
        finally:
            self._announced(owed)  # all of them, announced or failed

    def _announced(self, count: int) -> None:
        self._unannounced -= count
        if self._unannounced < MAX_UNANNOUNCED:
            self._has_room.set()

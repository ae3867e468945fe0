"""The local hub: this node's sockets, the conversations they hear, and fan-out.

The bus hands every committed event's `Envelope` to `Hub.deliver`. The hub keeps its
own index (`hubbub.realtime.sockets`: socket -> user, session, conversations;
conversation -> sockets; user -> sockets) rather than python-socketio's rooms, so that
delivering an event is: find the
audience, encode the Socket.IO packet once, and hand the same packet to the transport
for each recipient (`Transport`, implemented over python-engineio by
`hubbub.edge.socket.transport`), which writes the same bytes to each socket. No task
per recipient, no per-recipient encode. A socket the transport finds too far behind is
a slow consumer: it is disconnected (it recovers with `sync`), and nobody else waits.

Presence (`user_online`, `user_offline`) is the exception to "at once": with
`presence_coalesce_s`, a socket's presence frames are held that long and then written
together, one transport write for all of them. A reconnect storm is a presence storm:
every handshake announces its user to every online contact, and one write (one
syscall, one TCP segment) per frame was a quarter of the server's CPU while 2,000
clients connected (`hubbub bench connections`); with the frames held 0.2 s, a
handshake cost 2.0 ms of CPU instead of 3.6; a bigger storm stretches the window
(`PRESENCE_STRETCH`). Presence carries no order with other events: a client reads it
as the latest state of each user.

Membership changes come as the envelope's typed `Effect`: users join a conversation
before the event is delivered and leave it after, so a removed participant hears of
its removal and nothing after it.

The hub tells the bus (`Interest`) when a conversation or a user gains its first
socket here or loses its last, so that with several nodes only the nodes holding a
socket of an event's audience receive it (`hubbub.realtime.channels`).

The index is also filled from the database, when a socket connects, joins a
conversation or resyncs (`admit`). Such a read may start before a removal commits and
end after the hub applied the removal's event; applied as read, it would put the
removed member back in the conversation's audience for good. So the hub counts, per
user, the removals it has applied, and applies a read only if no removal of that user
came while it ran; otherwise it reads again. The removal's event is published only
after its commit, so a read that starts after the hub counted it sees the removal: the
index never holds a membership older than a removal it has applied, whatever the
interleaving and on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import orjson

from hubbub.domain.errors import Unavailable
from hubbub.events.catalog import UserOffline, UserOnline
from hubbub.events.envelope import Effect, Envelope
from hubbub.metrics import Metrics
from hubbub.realtime.channels import EVERY_EVENT, Interest
from hubbub.realtime.sockets import Circle, SocketIndex, SocketState
from hubbub.tracing import NoTracing, Tracing

log = logging.getLogger("hubbub.realtime")

NAMESPACE = "/messaging"


@dataclass(slots=True)
class Packet:
    """A Socket.IO packet of the namespace as Engine.IO message text, and its WebSocket
    frame once a transport has built it (built once, written to every recipient)."""

    text: str
    frame: bytes | None = None


def encode_event(name: str, payload: object) -> Packet:
    return Packet("2" + NAMESPACE + "," + orjson.dumps([name, payload]).decode())


class Sent(enum.Enum):
    DIRECT = "direct"  # written to the WebSocket now
    QUEUED = "queued"  # behind earlier packets in the socket's queue
    SLOW = "slow"  # the socket is too far behind: not written
    GONE = "gone"  # the socket has closed


class Transport(Protocol):
    """How packets reach one socket (python-engineio's sessions, in production)."""

    def write(self, eio_sid: str, packet: Packet) -> Sent: ...

    def write_many(self, eio_sid: str, packets: list[Packet]) -> Sent:
        """The packets in order, in one write where the transport can."""
        ...

    async def disconnect(self, sid: str) -> None: ...


CirclesOf = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, Circle]]]
ConversationsOf = Callable[[uuid.UUID], Awaitable[list[uuid.UUID]]]
MembershipRead = Callable[[], Awaitable[Iterable[uuid.UUID]]]

# Reads of one user's memberships, each overtaken by a removal of theirs, before the hub
# gives up (a removal is a person's act: more than this in one read's time is an attack
# or a fault, answered as unavailable).
MAX_MEMBERSHIP_READS = 8

# A delivery to this many sockets or more lets the loop run other work before the next
# (about 10 ms of writes here): a presence storm in a room of 5,000 members is thousands
# of such deliveries in a row.
WRITES_BEFORE_YIELD = 2_000

# Events held per socket for `presence_coalesce_s` and written together.
PRESENCE_EVENTS = frozenset((UserOnline.name, UserOffline.name))

# Under a storm the presence window stretches: the next one lasts this many times as
# long as the last round of presence writes took (up to `PRESENCE_MOST_S`), so that
# those writes take at most about a twentieth of the loop. With the window fixed at
# 0.2 s, a reconnect storm of 10,000 clients spent a quarter of the server's CPU
# writing presence, a round every 0.2 s to every socket online (docs/performance.md,
# "Eleventh round").
PRESENCE_STRETCH = 20
PRESENCE_MOST_S = 2.0

# How long the hub remembers an ended session or account, for the handshakes that were
# authenticating when it ended (a handshake lasts at most the socket connect timeout).
ENDED_MEMORY_S = 300.0


class Hub(SocketIndex):
    def __init__(
        self,
        transport: Transport,
        metrics: Metrics,
        *,
        circles_of: CirclesOf,
        conversations_of: ConversationsOf,
        tracing: Tracing | None = None,
        interest: Interest = EVERY_EVENT,
        presence_coalesce_s: float = 0.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(interest)
        self._transport = transport
        self._metrics = metrics
        self._tracing: Tracing = tracing if tracing is not None else NoTracing()
        self._circles_of = circles_of
        # Circles read ahead for events about to be published here (`circles_read`).
        self._circles: dict[uuid.UUID, Circle] = {}
        self._conversations_of = conversations_of
        # Sessions and accounts ended lately -> when the hub applied the end.
        self._ended: dict[uuid.UUID, float] = {}
        # Presence frames held per socket id, and the task that writes them; the window
        # as configured, and as stretched by the last round's writes.
        self._presence_window = presence_coalesce_s
        self._window = presence_coalesce_s
        self._clock = clock
        self._held: dict[str, list[Packet]] = {}
        self._holding: asyncio.Task[None] | None = None

    # Index -----------------------------------------------------------------------------

    def add(self, state: SocketState) -> bool:
        """Index a socket whose handshake authenticated it; False (and not indexed) if
        its session or account was ended here since it began authenticating: its
        token may have been read before the end committed."""
        for ended in (state.session_id, state.user_id):
            if self._ended.get(ended, -1.0) >= state.auth_started:
                return False
        self.index(state)
        return True

    async def admit(
        self,
        states: list[SocketState],
        read: MembershipRead,
        *,
        replace: bool = False,
        listen: bool = True,
        subscribed: bool = True,
    ) -> set[uuid.UUID]:
        """Make one user's sockets members of the conversations `read` finds the user
        in, hearing them unless `listen` is false (all of them and no others with
        `replace`), unless a removal of the user was applied while it read: then read
        again (see the module's docstring). `read` raises to refuse; sockets closed
        meanwhile are skipped. With `subscribed`, return once the bus has subscribed
        to the conversations' events (not from the bus's own resync: it waits there)."""
        if not states:
            return set()
        user_id = states[0].user_id
        for _ in range(MAX_MEMBERSHIP_READS):
            mark = self._removals.get(user_id, 0)
            ids = set(await read())
            if self._removals.get(user_id, 0) != mark:
                continue
            for state in states:
                if state.sid not in self.sockets:
                    continue
                if replace:
                    self.reset_memberships(state, ids)
                elif listen:
                    self.join_member(state, ids)
                else:
                    self.add_member_quietly(state, ids)
            if subscribed:
                await self._interest.ready()
            return ids
        raise Unavailable()

    async def resync(self) -> None:
        """Bus subscriber: membership events may have been missed; re-read every
        connected user's conversations."""
        for user_id in {s.user_id for s in self.sockets.values()}:
            read = partial(self._conversations_of, user_id)
            await self.admit(self.user_sockets(user_id), read, replace=True, subscribed=False)

    # Fan-out ---------------------------------------------------------------------------

    async def deliver(self, envelope: Envelope) -> None:
        """Bus subscriber: apply the event's effect and write it to its audience."""
        with self._tracing.span("hubbub.fanout", event=envelope.name):
            await self._deliver(envelope)

    async def _deliver(self, envelope: Envelope) -> None:
        started = time.perf_counter()
        effect = envelope.effect
        if effect.ended_session is not None or effect.ended_user is not None:
            await self._cut(effect.ended_session, effect.ended_user)
            return
        if self._join(effect):
            await self._interest.sent()
        audience = await self._audience(envelope)
        if audience:
            packet = encode_event(envelope.name, envelope.payload)
            if self._presence_window > 0 and envelope.name in PRESENCE_EVENTS:
                self._hold(audience, packet)
            else:
                await self.write(audience, packet)
        self._leave(effect)
        self._metrics.event_out(envelope.name)
        self._metrics.fanout_seconds.observe(time.perf_counter() - started)

    def _join(self, effect: Effect) -> bool:
        """Apply the joins of an effect; whether any socket here joined."""
        if effect.conversation_id is None:
            return False
        joined = False
        for uid in effect.joined:
            for state in self.user_sockets(uid):
                self.join_member(state, [effect.conversation_id])
                joined = True
        return joined

    def _leave(self, effect: Effect) -> None:
        if effect.conversation_id is None:
            return
        for uid in effect.left:
            self.forget_membership(uid, effect.conversation_id)

    async def _audience(self, envelope: Envelope) -> set[str]:
        to = envelope.audience
        sids: set[str] = set()
        if to.conversation_id is not None:
            sids.update(self.heard_by(to.conversation_id))
        for uid in to.user_ids:
            sids |= self.sids_of(uid)
        if to.contacts_of is not None and self.sockets:
            circle = self._circles.pop(to.contacts_of, None)
            if circle is None:
                circle = (await self._circles_of([to.contacts_of]))[to.contacts_of]
            sids.update(self.reached_by(to.contacts_of, circle))
        if to.exclude_socket is not None:
            sids.discard(to.exclude_socket)
        if to.exclude_user is not None:
            sids -= self.sids_of(to.exclude_user)
        return sids

    @contextlib.asynccontextmanager
    async def circles_read(self, user_ids: list[uuid.UUID]) -> AsyncIterator[None]:
        """Read the circles of these users in one query for the events published
        within (each used once, by this node's delivery of the first event about the
        user; whatever is left is dropped at the end): a storm's `user_online`s cost
        one query per batch here, not one each."""
        if user_ids and self.sockets:
            self._circles.update(await self._circles_of(user_ids))
        try:
            yield
        finally:
            for uid in user_ids:
                self._circles.pop(uid, None)

    async def write(self, sids: Iterable[str], packet: Packet) -> None:
        """One encoded packet to many sockets: a transport write each, no task each."""
        slow: list[str] = []
        written = direct = 0
        for sid in sids:
            state = self.sockets.get(sid)
            if state is None:
                continue
            sent = self._transport.write(state.eio_sid, packet)
            if sent is Sent.DIRECT:
                direct += 1
                written += 1
            elif sent is Sent.QUEUED:
                written += 1
            elif sent is Sent.SLOW:
                slow.append(sid)
        await self._written(written, direct, slow)

    async def _written(self, written: int, direct: int, slow: list[str]) -> None:
        self._metrics.deliveries.inc(written)
        self._metrics.direct_writes.inc(direct)
        for sid in slow:
            self._metrics.slow_consumers.inc()
            log.warning("disconnecting slow consumer %s", sid)
            await self._transport.disconnect(sid)
        if written >= WRITES_BEFORE_YIELD:
            await asyncio.sleep(0)  # a run of big deliveries must not hold off handshakes

    def _hold(self, sids: Iterable[str], packet: Packet) -> None:
        """Keep a presence packet for each socket until the window's end."""
        held = self._held
        for sid in sids:
            packets = held.get(sid)
            if packets is None:
                held[sid] = [packet]
            else:
                packets.append(packet)
        if self._holding is None:
            self._holding = asyncio.create_task(self._write_held(), name="hubbub-presence")

    async def _write_held(self) -> None:
        try:
            await asyncio.sleep(self._window)
        finally:
            self._holding = None
        held, self._held = self._held, {}
        slow: list[str] = []
        written = direct = 0
        started = self._clock()
        for sid, packets in held.items():
            state = self.sockets.get(sid)
            if state is None:
                continue
            sent = self._transport.write_many(state.eio_sid, packets)
            if sent is Sent.DIRECT:
                direct += len(packets)
                written += len(packets)
            elif sent is Sent.QUEUED:
                written += len(packets)
            elif sent is Sent.SLOW:
                slow.append(sid)
        spent = self._clock() - started
        base = self._presence_window
        self._window = max(base, min(spent * PRESENCE_STRETCH, PRESENCE_MOST_S))
        await self._written(written, direct, slow)

    def presence_window(self) -> float:
        """How long presence frames are held now (`PRESENCE_STRETCH`)."""
        return self._window

    def held(self) -> int:
        """Sockets with presence frames waiting for the end of the window."""
        return len(self._held)

    async def close(self) -> None:
        """At shutdown: drop the presence frames still held."""
        task, self._holding = self._holding, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._held.clear()

    async def emit_to(self, sid: str, name: str, payload: object) -> None:
        await self.write([sid], encode_event(name, payload))

    async def end_session(self, session_id: uuid.UUID) -> None:
        """Cut every socket of a session found ended (by the gateway's session sweep)."""
        await self._cut(session_id, None)

    async def _cut(self, session_id: uuid.UUID | None, user_id: uuid.UUID | None) -> None:
        now = time.monotonic()
        for stale in [k for k, at in self._ended.items() if now - at > ENDED_MEMORY_S]:
            del self._ended[stale]
        for ended in (session_id, user_id):
            if ended is not None:
                self._ended[ended] = now
        doomed = [
            s.sid
            for s in self.sockets.values()
            if s.session_id == session_id or s.user_id == user_id
        ]
        for sid in doomed:
            await self._transport.disconnect(sid)

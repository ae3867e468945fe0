"""The local hub: this node's sockets, the conversations they hear, and fan-out.

The bus hands every committed event's `Envelope` to `Hub.deliver`. The hub keeps its
own index (socket -> user, session, conversations; conversation -> sockets; user ->
sockets) rather than python-socketio's rooms, so that delivering an event is: find the
audience, encode the Socket.IO packet once, and hand the same packet to the transport
for each recipient (`Transport`, implemented over python-engineio by
`hubbub.edge.socket.transport`), which writes the same bytes to each socket. No task
per recipient, no per-recipient encode. A socket the transport finds too far behind is
a slow consumer: it is disconnected (it recovers with `sync`), and nobody else waits.

Membership changes come as the envelope's typed `Effect`: users join a conversation
before the event is delivered and leave it after, so a removed participant hears of
its removal and nothing after it.
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from hubbub.events.envelope import Effect, Envelope
from hubbub.metrics import Metrics

log = logging.getLogger("hubbub.realtime")

NAMESPACE = "/messaging"


@dataclass
class SocketState:
    sid: str
    eio_sid: str
    user_id: uuid.UUID
    username: str
    session_id: uuid.UUID
    conversations: set[uuid.UUID] = field(default_factory=set)  # member of (cache)
    listening: set[uuid.UUID] = field(default_factory=set)  # receiving live events of
    typing_in: set[uuid.UUID] = field(default_factory=set)


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

    async def disconnect(self, sid: str) -> None: ...


ContactsOf = Callable[[uuid.UUID], Awaitable[set[uuid.UUID]]]
ConversationsOf = Callable[[uuid.UUID], Awaitable[list[uuid.UUID]]]


class Hub:
    def __init__(
        self,
        transport: Transport,
        metrics: Metrics,
        *,
        contacts_of: ContactsOf,
        conversations_of: ConversationsOf,
    ) -> None:
        self._transport = transport
        self._metrics = metrics
        self._contacts_of = contacts_of
        self._conversations_of = conversations_of
        self.sockets: dict[str, SocketState] = {}
        self._by_conversation: dict[uuid.UUID, set[str]] = {}
        self._by_user: dict[uuid.UUID, set[str]] = {}

    # Index -----------------------------------------------------------------------------

    def add(self, state: SocketState) -> None:
        self.sockets[state.sid] = state
        self._by_user.setdefault(state.user_id, set()).add(state.sid)

    def remove(self, sid: str) -> SocketState | None:
        state = self.sockets.pop(sid, None)
        if state is None:
            return None
        for cid in state.listening:
            self._unlisten(cid, sid)
        user = self._by_user.get(state.user_id)
        if user is not None:
            user.discard(sid)
            if not user:
                del self._by_user[state.user_id]
        return state

    def user_sockets(self, user_id: uuid.UUID) -> list[SocketState]:
        return [self.sockets[s] for s in self._by_user.get(user_id, ()) if s in self.sockets]

    def join_member(self, state: SocketState, conversation_ids: Iterable[uuid.UUID]) -> None:
        for cid in conversation_ids:
            state.conversations.add(cid)
            self.listen(state, cid)

    def listen(self, state: SocketState, conversation_id: uuid.UUID) -> None:
        state.listening.add(conversation_id)
        self._by_conversation.setdefault(conversation_id, set()).add(state.sid)

    def unlisten(self, state: SocketState, conversation_id: uuid.UUID) -> None:
        state.listening.discard(conversation_id)
        self._unlisten(conversation_id, state.sid)

    def _unlisten(self, conversation_id: uuid.UUID, sid: str) -> None:
        room = self._by_conversation.get(conversation_id)
        if room is not None:
            room.discard(sid)
            if not room:
                del self._by_conversation[conversation_id]

    def forget_membership(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        for state in self.user_sockets(user_id):
            state.conversations.discard(conversation_id)
            state.typing_in.discard(conversation_id)
            self.unlisten(state, conversation_id)

    def reset_memberships(self, state: SocketState, conversation_ids: set[uuid.UUID]) -> None:
        for cid in list(state.listening - conversation_ids):
            self.unlisten(state, cid)
        state.conversations = set(conversation_ids)
        for cid in conversation_ids:
            self.listen(state, cid)

    async def resync(self) -> None:
        """Bus subscriber: membership events may have been missed; re-read every
        connected user's conversations."""
        for user_id in {s.user_id for s in self.sockets.values()}:
            ids = set(await self._conversations_of(user_id))
            for state in self.user_sockets(user_id):
                self.reset_memberships(state, ids)

    # Fan-out ---------------------------------------------------------------------------

    async def deliver(self, envelope: Envelope) -> None:
        """Bus subscriber: apply the event's effect and write it to its audience."""
        started = time.perf_counter()
        effect = envelope.effect
        if effect.ended_session is not None:
            await self._cut_session(effect.ended_session)
            return
        self._join(effect)
        audience = await self._audience(envelope)
        if audience:
            await self.write(audience, encode_event(envelope.name, envelope.payload))
        self._leave(effect)
        self._metrics.fanout_seconds.observe(time.perf_counter() - started)

    def _join(self, effect: Effect) -> None:
        if effect.conversation_id is None:
            return
        for uid in effect.joined:
            for state in self.user_sockets(uid):
                self.join_member(state, [effect.conversation_id])

    def _leave(self, effect: Effect) -> None:
        if effect.conversation_id is None:
            return
        for uid in effect.left:
            self.forget_membership(uid, effect.conversation_id)

    async def _audience(self, envelope: Envelope) -> set[str]:
        to = envelope.audience
        sids: set[str] = set()
        if to.conversation_id is not None:
            sids |= self._by_conversation.get(to.conversation_id, set())
        for uid in to.user_ids:
            sids |= self._by_user.get(uid, set())
        if to.contacts_of is not None and self.sockets:
            for uid in await self._contacts_of(to.contacts_of):
                sids |= self._by_user.get(uid, set())
        if to.exclude_socket is not None:
            sids.discard(to.exclude_socket)
        if to.exclude_user is not None:
            sids -= self._by_user.get(to.exclude_user, set())
        return sids

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
        self._metrics.deliveries.inc(written)
        self._metrics.direct_writes.inc(direct)
        for sid in slow:
            self._metrics.slow_consumers.inc()
            log.warning("disconnecting slow consumer %s", sid)
            await self._transport.disconnect(sid)

    async def emit_to(self, sid: str, name: str, payload: object) -> None:
        await self.write([sid], encode_event(name, payload))

    async def _cut_session(self, session_id: uuid.UUID) -> None:
        doomed = [s.sid for s in self.sockets.values() if s.session_id == session_id]
        for sid in doomed:
            await self._transport.disconnect(sid)

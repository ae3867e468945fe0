"""The local hub: this node's sockets, the conversations they hear, and fan-out.

The gateway keeps its own index (socket -> user, session, conversations; conversation
-> sockets; user -> sockets) rather than python-socketio's rooms, so that delivering an
event is: find the audience, encode the Socket.IO packet and its WebSocket frame once,
and write the same bytes to each recipient's transport (`hubbub.edge.socket.engine`), or
put the packet on its Engine.IO queue where earlier frames still wait there. No task
per recipient, no per-recipient encode. A socket already `max_backlog` frames (or as
many KiB) behind is a slow consumer: it is disconnected (it recovers with `sync`), and
nobody else waits for it.

Membership changes arrive as events (`conversation_created`, `participant_added`,
`participant_removed`) and update the index before (added) or after (removed) the
event itself is delivered, so a removed participant hears of its removal and nothing
after it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import orjson
import socketio
from engineio import packet as eio_packet

from hubbub.edge.socket.engine import websocket_text_frame
from hubbub.metrics import Metrics
from hubbub.realtime.bus import Event

log = logging.getLogger("hubbub.edge.socket")

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


def encode_event(name: str, payload: object) -> str:
    """The Socket.IO EVENT packet for the namespace, as Engine.IO message text."""
    return "2" + NAMESPACE + "," + orjson.dumps([name, payload]).decode()


class Hub:
    def __init__(self, sio: socketio.AsyncServer, metrics: Metrics, *, max_backlog: int) -> None:
        self._sio = sio
        self._metrics = metrics
        self._max_backlog = max_backlog
        # The same backlog for frames written straight to the transport, in bytes.
        self._max_buffered = max_backlog * 1024
        self.sockets: dict[str, SocketState] = {}
        self._by_conversation: dict[uuid.UUID, set[str]] = {}
        self._by_user: dict[uuid.UUID, set[str]] = {}
        self.contacts_of: Callable[[uuid.UUID], Awaitable[set[uuid.UUID]]] | None = None

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

    # Fan-out ---------------------------------------------------------------------------

    async def deliver(self, event: Event) -> None:
        """Bus subscriber: apply membership effects and write the event to its audience."""
        started = time.perf_counter()
        if event.name == "session_revoked":
            await self._cut_session(uuid.UUID(event.payload["sessionId"]))
            return
        if event.name in ("conversation_created", "participant_added"):
            self._membership_added(event)
        audience = await self._audience(event)
        if audience:
            await self.write(audience, encode_event(event.name, event.payload))
        if event.name == "participant_removed":
            cid = uuid.UUID(event.payload["conversationId"])
            self.forget_membership(uuid.UUID(event.payload["userId"]), cid)
        self._metrics.fanout_seconds.observe(time.perf_counter() - started)

    def _membership_added(self, event: Event) -> None:
        if event.name == "conversation_created":
            cid = uuid.UUID(event.payload["conversation"]["id"])
        else:
            cid = uuid.UUID(event.payload["conversationId"])
        for uid in event.user_ids:
            for state in self.user_sockets(uid):
                self.join_member(state, [cid])

    async def _audience(self, event: Event) -> set[str]:
        sids: set[str] = set()
        if event.conversation_id is not None:
            sids |= self._by_conversation.get(event.conversation_id, set())
        for uid in event.user_ids:
            sids |= self._by_user.get(uid, set())
        if event.contacts_of is not None and self.contacts_of is not None and self.sockets:
            for uid in await self.contacts_of(event.contacts_of):
                sids |= self._by_user.get(uid, set())
        if event.exclude_socket is not None:
            sids.discard(event.exclude_socket)
        if event.exclude_user is not None:
            sids -= self._by_user.get(event.exclude_user, set())
        return sids

    async def write(self, sids: Iterable[str], frame: str) -> None:
        """One encoded frame to many sockets: a transport write each (or a queue put
        where an earlier frame still waits), no task each."""
        eio = self._sio.eio
        slow: list[str] = []
        wire: bytes | None = None
        written = direct = 0
        for sid in sids:
            state = self.sockets.get(sid)
            if state is None:
                continue
            socket = eio.sockets.get(state.eio_sid)
            if socket is None or socket.closed:
                continue
            ws = getattr(socket, "hubbub_ws", None)
            if ws is not None and ws.can_write_now():
                if ws.buffered() > self._max_buffered:
                    slow.append(sid)
                    continue
                if wire is None:
                    wire = websocket_text_frame("4" + frame)  # Engine.IO MESSAGE
                ws.write(wire)
                direct += 1
            elif socket.queue.qsize() >= self._max_backlog:
                slow.append(sid)
                continue
            else:
                socket.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, data=frame))
            written += 1
        self._metrics.deliveries.inc(written)
        self._metrics.direct_writes.inc(direct)
        for sid in slow:
            self._metrics.slow_consumers.inc()
            log.warning("disconnecting slow consumer %s", sid)
            await self._sio.disconnect(sid, namespace=NAMESPACE)

    async def emit_to(self, sid: str, name: str, payload: object) -> None:
        await self.write([sid], encode_event(name, payload))

    async def _cut_session(self, session_id: uuid.UUID) -> None:
        doomed = [s.sid for s in self.sockets.values() if s.session_id == session_id]
        for sid in doomed:
            await self._sio.disconnect(sid, namespace=NAMESPACE)

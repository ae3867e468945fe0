"""The hub's `Transport` over python-engineio's sessions: where packets become bytes.

A packet goes straight to the socket's WebSocket as one prebuilt frame when nothing
waits before it (`hubbub.edge.socket.engine.DirectWebSocket`); otherwise it is put on
the Engine.IO session's queue behind the earlier ones, so a socket's order is kept
(long-polling sockets always take the queue). A socket more than `max_backlog` packets
behind (or as many KiB of unsent frames) is reported slow, and the hub cuts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import socketio
from engineio import packet as eio_packet

from hubbub.edge.socket.engine import websocket_text_frame
from hubbub.realtime.hub import NAMESPACE, Packet, Sent


class EngineTransport:
    def __init__(self, sio: socketio.AsyncServer, *, max_backlog: int) -> None:
        self._sio = sio
        # python-engineio's sessions by id (one dict for the server's life).
        self._sessions = sio.eio.sockets
        self._max_backlog = max_backlog
        # The same backlog for frames written straight to the transport, in bytes.
        self._max_buffered = max_backlog * 1024

    def write(self, eio_sid: str, packet: Packet) -> Sent:
        # Every fan-out's path, once per recipient: one packet, nothing allocated.
        socket = self._sessions.get(eio_sid)
        if socket is None or socket.closed:
            return Sent.GONE
        ws = getattr(socket, "hubbub_ws", None)
        if ws is not None and ws.can_write_now():
            if ws.buffered() > self._max_buffered:
                return Sent.SLOW
            ws.write(packet.frame or _framed(packet))
            return Sent.DIRECT
        return self._enqueue(socket, (packet,))

    def write_many(self, eio_sid: str, packets: list[Packet]) -> Sent:
        # `write`'s checks, repeated rather than shared: a shared helper would add a
        # call to every recipient of every fan-out for the sake of presence's path.
        socket = self._sessions.get(eio_sid)
        if socket is None or socket.closed:
            return Sent.GONE
        ws = getattr(socket, "hubbub_ws", None)
        if ws is not None and ws.can_write_now():
            if ws.buffered() > self._max_buffered:
                return Sent.SLOW
            # Consecutive frames in one write: one syscall (and TCP segment) for all.
            ws.write(b"".join([packet.frame or _framed(packet) for packet in packets]))
            return Sent.DIRECT
        return self._enqueue(socket, packets)

    def _enqueue(self, socket: Any, packets: Sequence[Packet]) -> Sent:
        """Behind the packets already on the session's queue (long-polling, or a
        WebSocket whose writer has packets in hand)."""
        if socket.queue.qsize() + len(packets) > self._max_backlog:
            return Sent.SLOW
        for packet in packets:
            socket.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, data=packet.text))
        return Sent.QUEUED

    async def disconnect(self, sid: str) -> None:
        await self._sio.disconnect(sid, namespace=NAMESPACE)


def _framed(packet: Packet) -> bytes:
    """The packet's Engine.IO MESSAGE frame, built once and kept for every recipient."""
    packet.frame = websocket_text_frame("4" + packet.text)
    return packet.frame

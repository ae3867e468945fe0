"""The hub's `Transport` over python-engineio's sessions: where packets become bytes.

A packet goes straight to the socket's WebSocket as one prebuilt frame when nothing
waits before it (`hubbub.edge.socket.engine.DirectWebSocket`); otherwise it is put on
the Engine.IO session's queue behind the earlier ones, so a socket's order is kept
(long-polling sockets always take the queue). A socket more than `max_backlog` packets
behind (or as many KiB of unsent frames) is reported slow, and the hub cuts it.
"""

from __future__ import annotations

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
        return self.write_many(eio_sid, [packet])

    def write_many(self, eio_sid: str, packets: list[Packet]) -> Sent:
        socket = self._sessions.get(eio_sid)
        if socket is None or socket.closed:
            return Sent.GONE
        ws = getattr(socket, "hubbub_ws", None)
        if ws is not None and ws.can_write_now():
            if ws.buffered() > self._max_buffered:
                return Sent.SLOW
            for packet in packets:
                if packet.frame is None:  # Engine.IO MESSAGE, built once for every socket
                    packet.frame = websocket_text_frame("4" + packet.text)
            if len(packets) == 1:
                ws.write(packets[0].frame)
            else:  # consecutive frames in one write: one syscall (and TCP segment)
                ws.write(b"".join([packet.frame for packet in packets if packet.frame]))
            return Sent.DIRECT
        if socket.queue.qsize() + len(packets) > self._max_backlog:
            return Sent.SLOW
        for packet in packets:
            socket.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, data=packet.text))
        return Sent.QUEUED

    async def disconnect(self, sid: str) -> None:
        await self._sio.disconnect(sid, namespace=NAMESPACE)

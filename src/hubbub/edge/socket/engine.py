"""Direct frame writes: fan-out that skips Engine.IO's per-socket queue and writer task.

Hub -> here -> the socket's transport. Engine.IO gives every socket a queue and a writer
task: each frame queued wakes that task, which awaits a `wait_for`, builds an ASGI
message, and hands it to the server, which frames it and writes. Per recipient of a
fan-out that is a task switch and a few dictionaries. Here the WebSocket frame of an
event is built once (`websocket_text_frame`) and written to each recipient's transport
as it is.

Order on a socket stays the order of sending: a frame goes direct only when nothing
queued earlier is still waiting to be written (`DirectWebSocket.can_write_now`: the
queue is empty and the writer holds no packet it has taken but not yet written);
otherwise it is queued like any other. python-socketio's own packets (CONNECT, acks)
and Engine.IO's pings keep using the queue. Direct writes need the transport of
uvicorn's WebSocket protocol (what `hubbub serve` runs); under any other server every
frame is queued.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import struct
from typing import Any

import engineio
import orjson
import socketio
from engineio.async_drivers.asgi import WebSocket as AsgiWebSocket


def websocket_text_frame(text: str) -> bytes:
    """A final, unmasked RFC 6455 text frame (server to client) carrying `text`."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


# python-engineio clients refuse a long-polling response of more than 16 packets (and
# disconnect); a burst of events can queue more than that for one socket.
MAX_PACKETS_PER_POLL = 16


class CountingQueue(asyncio.Queue[Any]):
    """A socket's Engine.IO queue that knows how many packets its writer has taken and
    not yet written (`taken`), and hands out at most `MAX_PACKETS_PER_POLL` per wait
    (Engine.IO's `poll` takes one with `get`, then drains with `get_nowait`)."""

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0
        self._budget = MAX_PACKETS_PER_POLL

    async def get(self) -> Any:
        self._budget = MAX_PACKETS_PER_POLL
        return await super().get()

    def get_nowait(self) -> Any:
        if self._budget <= 0:
            raise asyncio.QueueEmpty  # the rest goes with the next poll
        item = super().get_nowait()
        self._budget -= 1
        return item

    def _get(self) -> Any:
        # Every way out of an asyncio.Queue (get, get_nowait) takes its item here.
        item = super()._get()
        if item is not None:
            self.taken += 1
        return item


class DirectWebSocket(AsgiWebSocket):  # type: ignore[misc]
    """Engine.IO's ASGI WebSocket wrapper, registered on its socket so the hub can
    write to the transport beneath it."""

    def __init__(self, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        self._socket: Any = getattr(handler, "__self__", None)
        self._protocol: Any = None

    async def __call__(self, environ: dict[str, Any]) -> str:
        protocol = getattr(environ.get("asgi.send"), "__self__", None)
        transport = getattr(protocol, "transport", None)
        # Only sockets that opened over WebSocket: one upgraded from polling has had its
        # queue drained by HTTP responses, which the count does not follow.
        opened_here = "sid=" not in environ.get("QUERY_STRING", "")
        if (
            self._socket is not None
            and opened_here
            # uvloop's transports are not asyncio.Transport subclasses: duck typing.
            and callable(getattr(transport, "write", None))
            and callable(getattr(transport, "get_write_buffer_size", None))
            and hasattr(protocol, "close_sent")
        ):
            self._protocol = protocol
            self._socket.hubbub_ws = self
        result: str = await super().__call__(environ)
        return result

    async def send(self, message: Any) -> None:
        try:
            await super().send(message)
        finally:
            queue = getattr(self._socket, "queue", None)
            if isinstance(queue, CountingQueue) and queue.taken > 0:
                queue.taken -= 1

    def can_write_now(self) -> bool:
        protocol = self._protocol
        if protocol is None or protocol.close_sent or protocol.transport.is_closing():
            return False
        queue = self._socket.queue
        return isinstance(queue, CountingQueue) and queue.taken == 0 and queue.empty()

    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel (a slow reader's backlog)."""
        size: int = self._protocol.transport.get_write_buffer_size()
        return size

    def write(self, frame: bytes) -> None:
        self._protocol.transport.write(frame)


class DirectEngineIO(engineio.AsyncServer):  # type: ignore[misc]
    """Engine.IO server whose sockets count their queue and register their WebSocket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A copy: the driver's table is shared by every server of the process.
        drivers: dict[str, Any] = self._async  # type: ignore[has-type]
        self._async = dict(drivers, websocket=DirectWebSocket)

    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue[Any]:
        return CountingQueue()

    async def send(self, sid: str, data: Any) -> None:
        """python-socketio's packets (CONNECT, acks) the same way: straight to the
        transport when nothing waits before them."""
        socket = self.sockets.get(sid)
        ws = getattr(socket, "hubbub_ws", None)
        if isinstance(data, str) and ws is not None and not socket.closed and ws.can_write_now():
            ws.write(websocket_text_frame("4" + data))  # Engine.IO MESSAGE
            return
        await super().send(sid, data)


class FastJson:
    """The JSON module python-socketio encodes packets with: orjson where it can (an
    ack carries a whole message), the standard library where orjson refuses (integers
    beyond 64 bits); decoding stays the standard library's, which every existing
    client's payloads were written against."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        return json.loads(text, **kwargs)


class JsonPacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets as hubbub sends them: JSON only, encoded with `FastJson`.
    python-socketio walks every outgoing payload looking for bytes to send as binary
    attachments (a sixth of a busy node's CPU, on acks that carry a whole message);
    hubbub never sends bytes, so the walk is skipped. Incoming binary packets still
    decode, and their payloads fail validation like any other wrong type."""

    uses_binary_events = False
    json = FastJson


# Whether the event being handled carries an ack id (set by `GatewayServer`).
_has_ack: contextvars.ContextVar[bool] = contextvars.ContextVar("hubbub_has_ack", default=False)


def event_wants_ack() -> bool:
    """In a namespace's event handler: whether the client asked for an ack."""
    return _has_ack.get()


class GatewayServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, telling handlers whether the client wants an ack, on an
    Engine.IO server whose sockets the hub can write to directly."""

    def _engineio_server_class(self) -> type[DirectEngineIO]:
        return DirectEngineIO

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        _has_ack.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

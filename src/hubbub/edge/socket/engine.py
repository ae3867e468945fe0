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
and Engine.IO's pings keep using the queue (whose writer, for a session opened over
WebSocket, runs only while packets wait in it: `keepalive.py`). Direct writes need the
transport of uvicorn's WebSocket protocol (what `hubbub serve` runs); under any other
server every frame is queued.

The same classes keep sessions in hand: `DirectWebSocket.wait` ends a session whose
client sends a binary frame or text that is no Engine.IO packet; `DirectEngineIO`
closes a session from the server side (`close_session`, used by the gateway's guards in
`gateway.py`) and keeps every socket's Engine.IO keep-alive (pings, timeouts) from one
task and a ping wheel (`keepalive.py`), not a task per socket.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable
from typing import Any

import engineio
from engineio.async_drivers.asgi import WebSocket as AsgiWebSocket
from engineio.async_socket import AsyncSocket

from hubbub.edge.socket.keepalive import SWEEP_S, TICK_S, OpenedOverWebSocket, PingWheel
from hubbub.edge.socket.queues import CountingQueue, slim_event, slim_queue

log = logging.getLogger("hubbub.edge.socket")

# What uvicorn logs about one WebSocket that reaches Engine.IO: its opening at info (an
# access line, like an HTTP request's: written with HUBBUB_ACCESS_LOG, see
# `log_websocket_openings`), its own errors. Written unasked, with the websockets
# library's "connection open" (below), each WebSocket made two lines: 20,000 in a
# reconnect storm of 10,000 clients, about 27 µs of CPU per handshake (13.5 µs a line
# here, a handshake's 1 %).
websocket_log = logging.getLogger("hubbub.websocket")
# The websockets library's own lines about it: their info is "connection open" only.
websocket_library_log = logging.getLogger("hubbub.websocket.library")


def log_websocket_openings(on: bool) -> None:
    """Whether each WebSocket's opening is logged (at info), as `HUBBUB_ACCESS_LOG` says."""
    websocket_log.setLevel(logging.NOTSET if on else logging.WARNING)
    websocket_library_log.setLevel(logging.WARNING)


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


# Engine.IO's PING packet ("2") in its frame, the same for every socket.
PING_FRAME = websocket_text_frame("2")
# Pings written before the loop gets a turn (~15 µs each with the syscall).
PINGS_PER_TURN = 256

# Engine.IO packet types (open, close, ping, pong, message, upgrade, noop): a text frame
# starts with one of them.
ENGINEIO_PACKET_TYPES = frozenset("0123456")


def _sid_of(socket: Any) -> str:
    return str(getattr(socket, "sid", "?"))


_CLOSED = {"type": "websocket.disconnect"}


def _frame_data(event: Any) -> Any:
    """Engine.IO's `wait`: a received frame's bytes or text; None once the connection
    has closed (where Engine.IO raises OSError)."""
    if event["type"] != "websocket.receive":
        return None
    data = event.get("bytes")
    return event.get("text") if data is None else data


def _drop_handshake(scope: Any, protocol: Any) -> None:
    """Let go of what only the handshake read, once the 101 has gone out: the ASGI
    scope's copy of the request headers (Engine.IO made its environ from it, which the
    gateway trims) and uvicorn's parsed request and response, with their headers. All
    three otherwise live as long as the connection: 5.4 KiB of the 35.7 KiB traced
    per idle socket (bench/memory_probe.py). Nothing reads them again: uvicorn's later
    log lines read the scope's path and client, and Engine.IO answers in frames."""
    headers = scope.get("headers") if isinstance(scope, dict) else None
    if isinstance(headers, list):
        headers.clear()  # in place: middlewares' views of the scope hold the same list
    if getattr(protocol, "handshake_complete", False):
        for name in ("request", "response"):
            message = getattr(protocol, name, None)
            if message is not None:
                # Emptied too: the request stays referenced from the frame of the
                # websockets parser that read it, which lives as long as the socket.
                message.headers.clear()
                setattr(protocol, name, None)
    # uvicorn's queue of ASGI messages in (unbounded) and its `writable` event, as lines
    # for the rest of the connection (`queues.py`): 3.7 KiB per idle socket.
    inbox = getattr(protocol, "queue", None)
    if isinstance(inbox, asyncio.Queue) and inbox.maxsize <= 0:
        slim_queue(inbox)
    writable = getattr(protocol, "writable", None)
    if isinstance(writable, asyncio.Event):
        slim_event(writable)


class DirectWebSocket(AsgiWebSocket):  # type: ignore[misc]
    """Engine.IO's ASGI WebSocket wrapper, registered on its socket so the hub can
    write to the transport beneath it."""

    def __init__(self, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        self._socket: Any = getattr(handler, "__self__", None)
        self._protocol: Any = None
        self._refused = False
        # The ASGI scope and the server protocol, until the handshake's leftovers go.
        self._handshake: tuple[Any, Any] | None = None

    async def __call__(self, environ: dict[str, Any]) -> None:
        protocol = getattr(environ.get("asgi.send"), "__self__", None)
        transport = getattr(protocol, "transport", None)
        # Only sockets that opened over WebSocket: one upgraded from polling has had its
        # queue drained by HTTP responses, which the count does not follow.
        opened_here = "sid=" not in environ.get("QUERY_STRING", "")
        if (
            opened_here
            # uvloop's transports are not asyncio.Transport subclasses: duck typing.
            and callable(getattr(transport, "write", None))
            and callable(getattr(transport, "get_write_buffer_size", None))
            and hasattr(protocol, "close_sent")
        ):
            self._protocol = protocol
            if type(self._socket) is AsyncSocket and isinstance(self._socket.queue, CountingQueue):
                # Its pings will be written directly and its frames read without a
                # task each: see `OpenedOverWebSocket`. (The handler was bound before.)
                self._socket.__class__ = OpenedOverWebSocket
                self.handler = self._socket._websocket_handler
        if self._socket is not None:
            self._socket.hubbub_ws = self
        self._handshake = (environ.get("asgi.scope"), protocol)
        if protocol is not None and isinstance(getattr(protocol, "logger", None), logging.Logger):
            protocol.logger = websocket_log  # before the accept, which it logs
            # The websockets library's "connection open", the same news again.
            conn: Any = getattr(protocol, "conn", None)
            if conn is not None and isinstance(getattr(conn, "logger", None), logging.Logger):
                conn.logger = websocket_library_log
        try:
            # Engine.IO's `__call__`, in this frame rather than one more beneath it: the
            # chain of coroutines from uvicorn's to the read loop stays suspended for
            # the whole session, each frame a few hundred bytes per idle socket.
            self.asgi_receive = environ["asgi.receive"]
            self.asgi_send = environ["asgi.send"]
            await self.asgi_send({"type": "websocket.accept"})
            await self.handler(self)
        finally:
            # The session is over: undo the socket <-> wrapper cycle (and let go of the
            # protocol), so that a closed socket is freed at once, not by a later
            # collection of cycles.
            if self._socket is not None:
                self._socket.hubbub_ws = None
            self._socket = self._protocol = self.handler = self._handshake = None
        # None, where Engine.IO's returns "": `handle_request` hands this back as the
        # ASGI app's result (`hubbub.app.WebSocketsPast`), which uvicorn logs as an
        # error at the end of every session unless it is None.

    async def wait(self) -> Any:
        """The next frame, for Engine.IO's read loop. hubbub's protocol is JSON text:
        a binary frame, or text that is no Engine.IO packet, ends the session (one line
        in the log), as does `refuse()`. The end of a session is None, which ends the
        read loop plainly: the OSError it otherwise ends on would keep the loop's frame,
        and the whole socket, in a cycle of its traceback. (During an upgrade from
        long-polling, Engine.IO expects OSError.)"""
        if self._handshake is not None:  # the first wait comes after the 101 went out
            _drop_handshake(*self._handshake)
            self._handshake = None
        if not self._refused:
            data = _frame_data(await self._next_event())
            if isinstance(data, str) and data[:1] in ENGINEIO_PACKET_TYPES:
                return data
            if data is not None:
                why = "a binary frame" if isinstance(data, bytes) else "a malformed packet"
                log.info("closing socket %s: %s", _sid_of(self._socket), why)
            self._refused = True
        if getattr(self._socket, "upgrading", False):
            raise OSError("closed")
        return None

    def _next_event(self) -> Awaitable[Any]:
        """The next ASGI message in. Over uvicorn's protocol, its queue's `get`, awaited
        by `wait` itself, with what the protocol's `receive` does after it (resuming a
        paused read once the queue is empty) done here first, as the queue holds what
        was read: two coroutines fewer (Engine.IO's `wait`, the protocol's `receive`)
        suspended on every idle socket, 0.4 KiB (bench/memory_probe.py)."""
        protocol = self._protocol
        if protocol is None:
            return self._received()
        inbox = protocol.queue
        if protocol.read_paused and inbox.qsize() <= 1:
            protocol.read_paused = False
            protocol.transport.resume_reading()
        return inbox.get()  # type: ignore[no-any-return]

    async def _received(self) -> Any:
        try:
            return await self.asgi_receive()
        except OSError:
            return _CLOSED

    def refuse(self) -> None:
        """End the session: its read loop stops at its next frame."""
        self._refused = True

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
        queue = getattr(self._socket, "queue", None)
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
        # A ping goes out at most a tick late; the client allows the ping timeout.
        self.pings = PingWheel(self.ping_interval, tick_s=min(TICK_S, self.ping_timeout / 4))

    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue[Any]:
        return CountingQueue()

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """Engine.IO's tasks, except a socket's next ping: that goes on the ping wheel
        (`keepalive.py`), which the service task below serves for every socket."""
        owner = getattr(target, "__self__", None)
        if isinstance(owner, AsyncSocket) and target.__func__ is AsyncSocket._send_ping:
            self.pings.schedule(owner.sid, owner)
            return None
        return super().start_background_task(target, *args, **kwargs)

    def forget(self, sid: str, reason: Any) -> None:
        """The session `sid` is closing: it leaves the ping wheel. Unless the server
        closed it (a long-polling client then still has the CLOSE packet to fetch), the
        session leaves the table now: Engine.IO would drop a closed long-polling session
        only at its next sweep, up to a ping timeout later."""
        self.pings.forget(sid)
        if reason != self.reason.SERVER_DISCONNECT:
            self.sockets.pop(sid, None)

    async def _service_task(self) -> None:
        """In place of Engine.IO's sweep (one socket at a time, a `wait_for` each): every
        tick the pings due, every `SWEEP_S` the sockets closed or past their ping
        timeout. Started by Engine.IO with the first session; `shutdown()` ends it."""
        self.service_task_event = self.create_event()
        next_sweep = time.monotonic() + SWEEP_S
        while not self.service_task_event.is_set():
            await asyncio.sleep(self.pings.tick_s)
            try:
                await self._ping_due()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_S
                    await self._sweep_timeouts()
            except Exception:  # one bad socket must not end every socket's keep-alive
                log.exception("keep-alive round failed")

    async def _ping_due(self) -> None:
        for count, socket in enumerate(self.pings.take_due(), start=1):
            if socket.closing or socket.closed:
                continue
            socket.last_ping = time.time()  # Engine.IO's clock for the pong's timeout
            ws = getattr(socket, "hubbub_ws", None)
            if ws is not None and ws.can_write_now():
                ws.write(PING_FRAME)
            else:
                await socket.send(engineio.packet.Packet(engineio.packet.PING))
            if count % PINGS_PER_TURN == 0:
                await asyncio.sleep(0)

    async def _sweep_timeouts(self) -> None:
        # The table is walked without a copy and without a tuple per socket: the copy
        # of 10,000 entries set off a collection of the whole heap each sweep (20 % of an
        # idle node's profile, all on the copying line).
        now = time.time()
        gone: list[str] = []
        silent: list[Any] = []
        for socket in self.sockets.values():
            if socket.closed:
                gone.append(socket.sid)
            elif socket.closing or not socket.last_ping:
                continue
            elif now - socket.last_ping > self.ping_timeout:
                silent.append(socket)
        for sid in gone:
            self.sockets.pop(sid, None)
        for socket in silent:
            await socket.check_ping_timeout()  # closes it

    def refuse(self, sid: str) -> None:
        """Read nothing more from the session `sid`'s WebSocket."""
        ws = getattr(self.sockets.get(sid), "hubbub_ws", None)
        if ws is not None:
            ws.refuse()

    async def disconnect(self, sid: str | None = None) -> None:
        """Engine.IO's, without waiting for the session's queue to be written out. It
        disconnects a long-polling session whose POST it refuses (over the size cap, or
        not Engine.IO) and waited, inside that POST's request, for the next GET to take
        the CLOSE packet: a client that never sends one held a request and its task for
        good, one per such POST, without a token."""
        if sid is None:
            await super().disconnect()
            return
        await self.close_session(sid)
        self.sockets.pop(sid, None)

    async def close_session(self, sid: str) -> None:
        """Close the session `sid` from the server side, whatever its transport: the
        disconnect handlers run, a WebSocket gets its close frame and stops reading."""
        socket = self.sockets.get(sid)
        if socket is None or socket.closed or socket.closing:
            return
        ws = getattr(socket, "hubbub_ws", None)
        if ws is not None:
            ws.refuse()
        await socket.close(wait=False, abort=False)
        if ws is not None:
            await ws.close()
        if socket.upgraded and getattr(socket, "hubbub_ws", None) is None:
            # Its WebSocket ended while the disconnect handlers ran (the client left at
            # the same time): Engine.IO, finding the socket still open then, left it in
            # the table until its next sweep.
            self.sockets.pop(sid, None)

    async def send(self, sid: str, data: Any) -> None:
        """python-socketio's packets (CONNECT, acks) the same way: straight to the
        transport when nothing waits before them."""
        socket = self.sockets.get(sid)
        ws = getattr(socket, "hubbub_ws", None)
        if isinstance(data, str) and ws is not None and not socket.closed and ws.can_write_now():
            ws.write(websocket_text_frame("4" + data))  # Engine.IO MESSAGE
            return
        await super().send(sid, data)

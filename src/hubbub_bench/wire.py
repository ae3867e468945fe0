"""A minimal Socket.IO v5 client over Engine.IO v4 over WebSocket, for load generation.

One `SioClient` is one asyncio `Protocol`: bytes arrive in `data_received`, frames are
cut and Engine.IO / Socket.IO packets handled right there, and events are handed to a
plain callback. No task, no coroutine and no queue per client or per message, so a
worker process holds thousands of clients and reads tens of thousands of events per
second on one core.

Only what a chat client needs: the `websocket` transport from the first request (no
polling upgrade), text packets (no binary attachments), one namespace, events with
and without acknowledgements, Engine.IO ping/pong and WebSocket ping/pong/close.
Outgoing frames are masked with an all-zero key: RFC 6455 requires clients to mask but
lets the key be any value, and servers unmask with the same work whatever the key is,
so this only saves the generator's CPU.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Callable
from typing import Any, cast

import orjson

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_ZERO_MASK = b"\x00\x00\x00\x00"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

EventHandler = Callable[["SioClient", str, Any], None]


def ws_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final, masked (zero key) client frame."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _ZERO_MASK + payload


class SioClient(asyncio.Protocol):
    """One Socket.IO client connection on one namespace.

    `connected` resolves with True once the namespace CONNECT is answered, or with
    False on a refusal (`connect_error`); `closed` resolves when the socket is gone.
    `on_event(client, name, payload)` runs for every server event; `tag` is free for
    the owner (an index into its own tables).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        namespace: str,
        auth: dict[str, Any],
        on_event: EventHandler,
        tag: int = 0,
        path: str = "/socket.io/",
    ) -> None:
        loop = asyncio.get_running_loop()
        self.host, self.port, self.namespace, self.path = host, port, namespace, path
        self.auth = auth
        self.on_event = on_event
        self.tag = tag
        self.connected: asyncio.Future[bool] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        # `connection_success`: the server has finished its own connect work (auth,
        # auto-join), so the socket receives its conversations' events from now on.
        self.ready: asyncio.Future[None] = loop.create_future()
        self.error: str | None = None
        self.sid: str | None = None
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._upgraded = False
        self._key = base64.b64encode(os.urandom(16))
        self._fragments: list[bytes] = []
        self._fragment_op = OP_TEXT
        self._event_prefix = b"42" + (namespace.encode() + b"," if namespace != "/" else b"")
        self._ack_prefix = b"43" + (namespace.encode() + b"," if namespace != "/" else b"")
        self._next_ack = 0
        self._acks: dict[int, Callable[[Any], None]] = {}

    # asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        request = (
            f"GET {self.path}?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self._key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            if not self._check_upgrade(head):
                return
            self._upgraded = True
        self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.connected.done():
            self.error = self.error or (f"connection lost: {exc!r}" if exc else "connection lost")
            self.connected.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)

    # Sending -----------------------------------------------------------------------

    def emit(self, event: str, data: Any, ack: Callable[[Any], None] | None = None) -> None:
        """Send an event; `ack(payload)` runs when the server acknowledges it."""
        if self.transport is None:
            return
        if ack is None:
            packet = self._event_prefix + orjson.dumps([event, data])
        else:
            self._next_ack += 1
            self._acks[self._next_ack] = ack
            packet = self._event_prefix + str(self._next_ack).encode() + orjson.dumps([event, data])
        self.transport.write(ws_frame(packet))

    def emit_raw(self, packet: bytes) -> None:
        """Send a pre-encoded Engine.IO packet (e.g. `42/messaging,[...]`)."""
        if self.transport is not None:
            self.transport.write(ws_frame(packet))

    @property
    def event_prefix(self) -> bytes:
        return self._event_prefix

    def close(self) -> None:
        """Close abruptly (TCP close without a goodbye), as a lost network would."""
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # Receiving ---------------------------------------------------------------------

    def _fail(self, why: str) -> None:
        self.error = why
        if not self.connected.done():
            self.connected.set_result(False)
        if self.transport is not None:
            self.transport.close()

    def _check_upgrade(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)
        if len(status) < 2 or status[1] != b"101":
            self._fail("refused: " + lines[0].decode(errors="replace"))
            return False
        want = base64.b64encode(hashlib.sha1(self._key + _WS_GUID).digest())  # noqa: S324
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-accept" and value.strip() == want:
                return True
        self._fail("bad Sec-WebSocket-Accept")
        return False

    def _read_frames(self) -> None:
        buf = self._buf
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            n = b1 & 0x7F
            start = pos + 2
            if n == 126:
                if size - start < 2:
                    break
                n = (buf[start] << 8) | buf[start + 1]
                start += 2
            elif n == 127:
                if size - start < 8:
                    break
                n = int.from_bytes(buf[start : start + 8], "big")
                start += 8
            if b1 & 0x80:  # a masked server frame: not allowed, but be lenient
                if size - start < 4 + n:
                    break
                mask = bytes(buf[start : start + 4])
                start += 4
                raw = bytes(buf[start : start + n])
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(raw))
            else:
                if size - start < n:
                    break
                payload = bytes(buf[start : start + n])
            pos = start + n
            self._frame(b0 & 0x80 != 0, b0 & 0x0F, payload)
            if self.transport is None:
                break
        if pos:
            del buf[:pos]

    def _frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == OP_CONT:
            self._fragments.append(payload)
            if not fin:
                return
            payload = b"".join(self._fragments)
            self._fragments = []
            opcode = self._fragment_op
        elif opcode in (OP_TEXT, OP_BINARY) and not fin:
            self._fragments = [payload]
            self._fragment_op = opcode
            return
        if opcode == OP_TEXT:
            self._engineio(payload)
        elif opcode == OP_PING and self.transport is not None:
            self.transport.write(ws_frame(payload, OP_PONG))
        elif opcode == OP_CLOSE and self.transport is not None:
            self.transport.write(ws_frame(payload[:2], OP_CLOSE))
            self.transport.close()

    def _engineio(self, packet: bytes) -> None:
        if not packet:
            return
        kind = packet[0]
        if kind == 0x34:  # "4" message -> Socket.IO
            self._socketio(packet)
        elif kind == 0x32:  # "2" ping -> "3" pong
            if self.transport is not None:
                self.transport.write(ws_frame(b"3" + packet[1:]))
        elif kind == 0x30:  # "0" open -> connect the namespace
            auth = orjson.dumps(self.auth)
            ns = self.namespace.encode() + b"," if self.namespace != "/" else b""
            if self.transport is not None:
                self.transport.write(ws_frame(b"40" + ns + auth))
        elif kind == 0x31:  # "1" close
            self.close()

    def _socketio(self, packet: bytes) -> None:
        # packet: b"4" + type + [namespace ","] + [ack id] + json
        if len(packet) < 2:
            return
        ptype = packet[1]
        i = 2
        if len(packet) > i and packet[i] == 0x2F:  # "/" namespace
            comma = packet.find(b",", i)
            if comma < 0:
                return  # a bare namespace with no payload
            if packet[i:comma] != self.namespace.encode():
                return
            i = comma + 1
        ack_start = i
        while i < len(packet) and 0x30 <= packet[i] <= 0x39:
            i += 1
        ack_id = int(packet[ack_start:i]) if i > ack_start else None
        body = packet[i:]
        if ptype == 0x32:  # EVENT
            data = orjson.loads(body)
            if isinstance(data, list) and data:
                name = str(data[0])
                if name == "connection_success" and not self.ready.done():
                    self.ready.set_result(None)
                self.on_event(self, name, data[1] if len(data) > 1 else None)
        elif ptype == 0x33:  # ACK
            callback = self._acks.pop(ack_id, None) if ack_id is not None else None
            if callback is not None:
                data = orjson.loads(body) if body else []
                callback(data[0] if isinstance(data, list) and data else None)
        elif ptype == 0x30:  # CONNECT answered
            payload = orjson.loads(body) if body else {}
            self.sid = payload.get("sid") if isinstance(payload, dict) else None
            if not self.connected.done():
                self.connected.set_result(True)
        elif ptype == 0x34:  # CONNECT_ERROR
            payload = orjson.loads(body) if body else {}
            message = payload.get("message") if isinstance(payload, dict) else payload
            self._fail(f"connect_error: {message}")
        elif ptype == 0x31:  # DISCONNECT by the server
            self.error = self.error or "disconnected by the server"
            self.close()


async def connect(
    *,
    host: str,
    port: int,
    namespace: str,
    auth: dict[str, Any],
    on_event: EventHandler,
    tag: int = 0,
    local_host: str | None = None,
    timeout: float = 30.0,
) -> SioClient:
    """Open one client and wait for its namespace handshake (check `connected.result()`)."""
    loop = asyncio.get_running_loop()

    def factory() -> SioClient:
        return SioClient(
            host=host, port=port, namespace=namespace, auth=auth, on_event=on_event, tag=tag
        )

    local = (local_host, 0) if local_host else None
    _, client = await asyncio.wait_for(
        loop.create_connection(factory, host, port, local_addr=local), timeout
    )
    try:
        await asyncio.wait_for(asyncio.shield(client.connected), timeout)
        if client.connected.result():
            # Wait for the server's `connection_success`, as the seed's client does.
            await asyncio.wait_for(asyncio.shield(client.ready), timeout)
    except TimeoutError:
        client.error = "handshake timed out"
        client.abort()
        if not client.connected.done():
            client.connected.set_result(False)
    return client

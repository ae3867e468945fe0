"""The Socket.IO server of the gateway: hubbub's protocol and nothing else.

python-socketio's `AsyncServer`, on the Engine.IO server of `engine.py`, narrowed to
what hubbub speaks: one namespace (/messaging), JSON text packets, sessions that
connect to the namespace soon after they open. Whatever else a client sends ends its
session, with one line in the log. Like `engine.py`, this reaches into python-socketio's
internals (each pinned by tests/test_library_internals.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import socketio
from socketio import packet as sio_packet

from hubbub import logs
from hubbub.edge.socket.engine import DirectEngineIO
from hubbub.edge.socket.packets import note_ack
from hubbub.realtime.hub import NAMESPACE

log = logging.getLogger("hubbub.edge.socket")


# Socket.IO packets a session may send before it has connected to the namespace (the
# CONNECT itself, a retry with a fresh token...); past them the session is closed.
PACKETS_BEFORE_CONNECT = 8

_RESERVED_EVENTS = frozenset(("connect", "disconnect", "connect_error"))


@dataclass(slots=True)
class _Unconnected:
    """An Engine.IO session not connected to the namespace: when it will be closed, and
    how many packets it has sent so far."""

    deadline: asyncio.TimerHandle
    packets: int = 0


class GatewayServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, telling handlers whether the client wants an ack, on an
    Engine.IO server whose sockets the hub can write to directly.

    It speaks hubbub's protocol only: the namespace /messaging (a CONNECT to any other
    gets CONNECT_ERROR), JSON text packets (a binary packet, a malformed one or one a
    client never sends ends the session, with one line in the log), and a session that
    has not connected to the namespace within `connect_timeout_s`, or sends more than
    `PACKETS_BEFORE_CONNECT` packets before it has, is closed."""

    def __init__(self, *args: Any, connect_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, namespaces=[NAMESPACE], **kwargs)
        self.eio: DirectEngineIO
        self.connect_timeout_s = connect_timeout_s
        self.unconnected: dict[str, _Unconnected] = {}
        self.closing: set[asyncio.Task[None]] = set()
        self.refused: set[str] = set()  # sessions being closed: what they send is dropped

    def _engineio_server_class(self) -> type[DirectEngineIO]:
        return DirectEngineIO

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        note_ack(id is not None)
        # This event's task alone: its log lines name the socket, event and conversation.
        logs.socket_context(sid, data)
        log.debug("socket event received")
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    # Sessions --------------------------------------------------------------------------

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> None:
        await super()._handle_eio_connect(eio_sid, environ)
        self._await_connect(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        pending = self.unconnected.pop(eio_sid, None)
        if pending is not None:
            pending.deadline.cancel()
        self.eio.forget(eio_sid, reason)
        await super()._handle_eio_disconnect(eio_sid, reason)
        # After: the session's environ is gone now, so nothing adds it again.
        self.refused.discard(eio_sid)

    def _await_connect(self, eio_sid: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(self.connect_timeout_s, self._connect_deadline, eio_sid)
        self.unconnected[eio_sid] = _Unconnected(deadline)

    def _connect_deadline(self, eio_sid: str) -> None:
        if self.unconnected.pop(eio_sid, None) is None:
            return
        if self.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is not None:
            self._await_connect(eio_sid)  # its handshake is under way
            return
        self._close(eio_sid, f"not connected within {self.connect_timeout_s:g} s")

    def _close(self, eio_sid: str, why: str) -> None:
        """Close the session; from now on nothing it sends is read."""
        if eio_sid not in self.environ or eio_sid in self.refused:
            return
        log.info("closing socket %s: %s", eio_sid, why)
        self.refused.add(eio_sid)
        self.eio.refuse(eio_sid)
        task = asyncio.ensure_future(self.eio.close_session(eio_sid))
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)

    def table_sizes(self) -> dict[str, Callable[[], float]]:
        """How to count the libraries' per-session tables and its own (for the metrics):
        Engine.IO sessions, python-socketio's environs and sockets (connected or
        connecting, with acks awaited), sessions not yet connected or being closed, and
        every task of the loop (each session has a few)."""
        manager = self.manager
        return {
            "engineio_sessions": lambda: len(self.eio.sockets),
            "socketio_sessions": lambda: len(self.environ),
            "socketio_sockets": lambda: (
                sum(len(rooms.get(None, ())) for rooms in manager.rooms.values())
                + len(manager.callbacks)
            ),
            "unconnected_sessions": lambda: len(self.unconnected),
            "closing_sessions": lambda: len(self.closing) + len(self.refused),
            "asyncio_tasks": _running_tasks,
        }

    # Packets ---------------------------------------------------------------------------

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if eio_sid not in self.environ or eio_sid in self.refused:
            return  # a session closed or being closed
        pending = self.unconnected.get(eio_sid)
        if pending is not None:
            pending.packets += 1
            if pending.packets > PACKETS_BEFORE_CONNECT:
                return self._close(eio_sid, "too many packets before connecting")
        if not isinstance(data, str):  # bytes, or JSON Engine.IO decoded as such
            binary = isinstance(data, bytes | bytearray)
            return self._close(eio_sid, "a binary packet" if binary else "a malformed packet")
        try:
            pkt = self.packet_class(encoded_packet=data)
        except (ValueError, TypeError):  # json.JSONDecodeError is a ValueError
            return self._close(eio_sid, "a malformed packet")
        kind, namespace = pkt.packet_type, pkt.namespace or "/"
        if kind == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, namespace, pkt.data)
        elif kind == sio_packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, namespace, self.reason.CLIENT_DISCONNECT)
            if eio_sid in self.environ and eio_sid not in self.unconnected:
                self._await_connect(eio_sid)
        elif kind == sio_packet.EVENT and _is_event(pkt.data):
            await self._handle_event(eio_sid, namespace, pkt.id, pkt.data)
        elif kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            self._close(eio_sid, "a binary packet")
        else:  # a malformed event, an ack (hubbub asks for none), CONNECT_ERROR...
            self._close(eio_sid, "an unexpected packet")
        return None

    async def _handle_connect(self, eio_sid: str, namespace: str, data: Any) -> None:
        try:
            await super()._handle_connect(eio_sid, namespace, data)
        except Exception:
            # The connect handler failed (a backend away): refuse, and drop what the
            # attempt left behind, or the socket would stay half-connected for good.
            log.warning("socket handshake failed", exc_info=True)
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is not None:
                await self._trigger_event(
                    "disconnect", namespace, sid, self.reason.SERVER_DISCONNECT
                )
                await self.manager.disconnect(sid, namespace, ignore_queue=True)
            await self._send_packet(
                eio_sid,
                self.packet_class(
                    sio_packet.CONNECT_ERROR, data={"message": "unavailable"}, namespace=namespace
                ),
            )
            return
        if eio_sid not in self.environ:
            # The session closed while the handler ran: its disconnect found the socket
            # still connecting and did nothing; now that it is connected, disconnect it.
            await self._handle_disconnect(eio_sid, namespace, self.reason.CLIENT_DISCONNECT)
        elif self.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is not None:
            pending = self.unconnected.pop(eio_sid, None)
            if pending is not None:
                pending.deadline.cancel()
            _slim(self.environ[eio_sid])


# What a connected session's environ keeps: what a CONNECT again (after a namespace
# DISCONNECT) reads (handshake.py), and what Engine.IO's request handling might read.
_ENVIRON_KEPT = frozenset(
    (
        "HTTP_ORIGIN",
        "HTTP_AUTHORIZATION",
        "REQUEST_METHOD",
        "QUERY_STRING",
        "asgi.scope",
        "asgi.receive",
        "asgi.send",
    )
)


def _slim(environ: dict[str, Any]) -> None:
    """Trim a connected session's environ in place. Engine.IO's ASGI driver makes a new
    class for each request's `wsgi.input` and copies every header into it, and a
    WebSocket request's frames hold it for the socket's whole life: 4 KiB per idle
    socket of 44 (bench/memory_probe.py), none of it read after the handshake."""
    kept = {key: environ[key] for key in _ENVIRON_KEPT if key in environ}
    environ.clear()
    environ.update(kept)


class _OneLine(logging.Filter):
    """A library's error as one line: its message and the exception's type and text.
    What python-socketio and python-engineio log as errors is what a client's bytes
    made them raise; a traceback of it says nothing and costs a client three bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {str(exc)[:200]}"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


def library_logger(name: str) -> logging.Logger:
    """The logger python-socketio or python-engineio logs through (`name` is which):
    errors only (their info and warning lines are per packet), one line each."""
    logger = logging.getLogger(f"hubbub.{name}")
    logger.setLevel(logging.ERROR)
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    return logger


def _running_tasks() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # read outside the loop
        return 0


def _is_event(data: Any) -> bool:
    """An EVENT's data: a list, its first item the event's name (not a reserved one)."""
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], str)
        and data[0] not in _RESERVED_EVENTS
    )

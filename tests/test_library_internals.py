"""The private internals of uvicorn, python-socketio, python-engineio, SQLAlchemy and
aiosqlite that hubbub patches or reads, checked against the installed releases.

For speed hubbub goes beneath these libraries' public APIs:
- the gateway's fan-out writes WebSocket frames straight to the transport of uvicorn's
  WebSocket protocol, which it finds through Engine.IO's ASGI WebSocket wrapper (its own
  subclass, registered in the Engine.IO server's driver table), and counts the packets
  on each socket's Engine.IO queue (its own queue class);
- each WebSocket's opening line goes through the logger of uvicorn's protocol, which
  the wrapper replaces with its own (written with the access log);
- the Socket.IO server overrides python-socketio's private `_engineio_server_class` and
  `_handle_event_internal`, and encodes packets with its own packet class;
- the gateway's guards decode and dispatch Socket.IO packets themselves (python-socketio's
  `_handle_eio_*` and `_handle_*` methods), check each WebSocket frame in the wrapper's
  `wait`, close sessions through Engine.IO's socket, and end a closed socket's ping task;
- the group commit compiles SQLAlchemy statements once (positional parameters, bind and
  result processors) and runs them on the driver's own connection (sqlite3 or asyncpg),
  announcing them through the engine's `before_cursor_execute` dispatcher;
- the embedded SQLite driver hands SQLAlchemy's aiosqlite adapter connections shaped
  like aiosqlite's (its private `_connection`, `_conn`, `_tx`, `stop`) that call sqlite3
  inline, and relies on aiosqlite's error classes being sqlite3's.

Any release may move these, which is why pyproject.toml holds each library to the minor
release tested. Each test here names the internal, what hubbub does with it and the
installed version when it fails. They use the libraries' own objects (and, for the
aiosqlite adapter, hubbub's own inline SQLite connection, which is what it drives), and
build small real instances (a server, a socket, an engine) where an internal only
exists at run time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import socket
import sqlite3
import struct
import sys
import tomllib
import uuid
from collections.abc import AsyncIterator, Callable
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import engineio
import pytest
import socketio
from engineio.async_drivers import asgi as engineio_asgi
from engineio.async_socket import AsyncSocket

# pytest itself depends on packaging, so it is there whenever these tests run.
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from hubbub.store.sqlite_driver import InlineConnection

ROOT = Path(__file__).resolve().parents[1]

# The libraries whose internals hubbub uses: each needs a tested range in pyproject.toml.
INTERNALS_USED = ("uvicorn", "python-socketio", "python-engineio", "sqlalchemy", "aiosqlite")


def version_of(dist: str) -> str:
    return f"{dist} {metadata.version(dist)}"


def broken(dist: str, internal: str, problem: str, use: str) -> None:
    pytest.fail(f"{version_of(dist)}: {internal} {problem}; hubbub {use}")


def require_attribute(owner: Any, name: str, dist: str, use: str) -> Any:
    if not hasattr(owner, name):
        broken(dist, f"{_name(owner)}.{name}", "is gone", use)
    return getattr(owner, name)


def require_parameters(
    function: Callable[..., Any], expected: list[str], dist: str, use: str = "overrides it as"
) -> None:
    """`function`'s parameter names are those hubbub's override of it (or call) takes."""
    names = list(inspect.signature(function).parameters)
    if names != expected:
        broken(
            dist,
            f"{function.__qualname__}",
            f"now takes ({', '.join(names)})",
            f"{use} ({', '.join(expected)})",
        )


def _name(owner: Any) -> str:
    return getattr(owner, "__qualname__", None) or type(owner).__qualname__


def text_frame(text: str) -> bytes:
    """A final, unmasked WebSocket text frame of under 126 bytes (server to client)."""
    payload = text.encode()
    assert len(payload) < 126
    return struct.pack("!BB", 0x81, len(payload)) + payload


# Versions ------------------------------------------------------------------------------


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _requirements(*extras: str) -> dict[str, Requirement]:
    project = _project()
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    found = {}
    for line in lines:
        requirement = Requirement(line)
        found[canonicalize_name(requirement.name)] = requirement
    return found


def _lock(name: str) -> dict[str, Version]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            dist, _, version = line.partition("==")
            pins[canonicalize_name(dist)] = Version(version.split(";")[0].strip())
    return pins


def test_libraries_whose_internals_are_used_are_held_to_the_tested_minor_release() -> None:
    requirements = _requirements()
    locked = _lock("requirements.lock")
    for dist in INTERNALS_USED:
        requirement = requirements.get(canonicalize_name(dist))
        assert requirement is not None, f"{dist} is not a direct dependency in pyproject.toml"
        ceilings = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
        floors = [s for s in requirement.specifier if s.operator == ">="]
        assert floors, f"pyproject.toml: {requirement} has no floor (>=)"
        assert ceilings, (
            f"pyproject.toml: {requirement} has no upper bound (<), but hubbub relies on "
            f"{dist}'s private internals: bound it to the release tested"
        )
        tested = locked[canonicalize_name(dist)]
        next_minor = Version(f"{tested.major}.{tested.minor + 1}")
        assert min(ceilings) <= next_minor, (
            f"pyproject.toml: {requirement} admits releases after {next_minor}, but the lock "
            f"files pin {dist} {tested}: run this module on the newer release and lock it "
            "before raising the bound"
        )


def test_installed_versions_are_inside_the_declared_ranges() -> None:
    for name, requirement in _requirements().items():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{requirement} is declared in pyproject.toml but not installed")
        assert requirement.specifier.contains(installed, prereleases=True), (
            f"{name} {installed} is installed, outside pyproject.toml's {requirement}"
        )


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))]
)
def test_lock_files_pin_versions_inside_the_declared_ranges(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = _lock(lock)
    for name, requirement in _requirements(*extras).items():
        assert name in pins, f"{lock} pins no version of {requirement}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name} {pins[name]}, outside pyproject.toml's {requirement}"
        )


# python-engineio -----------------------------------------------------------------------


def test_engineio_websocket_wrapper_and_driver_table() -> None:
    use = "subclasses it to reach the transport beneath each WebSocket"
    wrapper = engineio_asgi.WebSocket
    require_parameters(wrapper.__init__, ["self", "handler", "server"], "python-engineio")
    require_parameters(wrapper.__call__, ["self", "environ"], "python-engineio")
    require_parameters(wrapper.send, ["self", "message"], "python-engineio")
    require_attribute(wrapper, "close", "python-engineio", use)

    server = engineio.AsyncServer(async_mode="asgi")
    drivers = require_attribute(
        server, "_async", "python-engineio", "registers its WebSocket wrapper in this table"
    )
    if not isinstance(drivers, dict) or drivers.get("websocket") is not wrapper:
        broken(
            "python-engineio",
            "AsyncServer(async_mode='asgi')._async['websocket']",
            f"is {drivers!r:.80}, not engineio.async_drivers.asgi.WebSocket",
            "replaces that entry with its own subclass",
        )
    sockets = require_attribute(server, "sockets", "python-engineio", "finds sockets by sid")
    assert isinstance(sockets, dict), "engineio.AsyncServer.sockets is no longer a dict"
    require_parameters(engineio.AsyncServer.send, ["self", "sid", "data"], "python-engineio")
    require_parameters(
        engineio.AsyncServer.create_queue, ["self", "args", "kwargs"], "python-engineio"
    )  # hubbub's override ignores its arguments: they must stay optional
    # DirectWebSocket does what these do in its own frames (one coroutine fewer each,
    # suspended for a whole session): they must still do no more than this.
    _require_source(
        wrapper.__call__,
        "WebSocket.__call__",
        (
            "self.asgi_receive = environ['asgi.receive']",
            "self.asgi_send = environ['asgi.send']",
            "await self.asgi_send({'type': 'websocket.accept'})",
            "await self.handler(self)",
        ),
        "reproduces it in DirectWebSocket.__call__",
    )
    _require_source(
        wrapper.wait,
        "WebSocket.wait",
        ("await self.asgi_receive()", "!= 'websocket.receive'", "event['bytes']", "event['text']"),
        "reproduces it in DirectWebSocket.wait (`_frame_data`)",
    )


class _RecordingQueue(asyncio.Queue[Any]):
    """Records how Engine.IO takes packets off a socket's queue; `limit` get_nowait
    calls succeed, the next raises QueueEmpty (how hubbub caps a long-polling reply).
    (asyncio.Queue.get itself calls get_nowait: those calls are not Engine.IO's.)"""

    def __init__(self, limit: int = 100) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.taken = 0
        self.limit = limit
        self._in_get = False

    async def get(self) -> Any:
        self.calls.append("get")
        self._in_get = True
        try:
            return await super().get()
        finally:
            self._in_get = False

    def get_nowait(self) -> Any:
        if self._in_get:
            return super().get_nowait()
        self.calls.append("get_nowait")
        if self.limit <= 0:
            raise asyncio.QueueEmpty
        self.limit -= 1
        return super().get_nowait()

    def _get(self) -> Any:
        self.taken += 1
        return super()._get()


async def test_engineio_socket_queue_and_how_poll_drains_it() -> None:
    queues: list[_RecordingQueue] = []

    class Server(engineio.AsyncServer):  # type: ignore[misc]
        limit = 100

        def create_queue(self, *args: Any, **kwargs: Any) -> _RecordingQueue:
            queues.append(_RecordingQueue(limit=self.limit))
            return queues[-1]

    server = Server(async_mode="asgi")
    sock = AsyncSocket(server, "probe")
    use = "counts the packets on it and writes past it when it is empty"
    queue = require_attribute(sock, "queue", "python-engineio", use)
    if queue is not queues[-1]:
        broken(
            "python-engineio",
            "AsyncSocket.queue",
            "no longer comes from AsyncServer.create_queue()",
            "gives every socket its own counting queue that way",
        )
    if require_attribute(sock, "closed", "python-engineio", "skips closed sockets") is not False:
        broken("python-engineio", "AsyncSocket.closed", "is not False on a new socket", use)
    require_attribute(
        AsyncSocket, "_websocket_handler", "python-engineio", "finds its socket as its __self__"
    )

    for n in range(3):
        queue.put_nowait(engineio.packet.Packet(engineio.packet.MESSAGE, data=str(n)))
    packets = await sock.poll()
    expected = ["get", "get_nowait", "get_nowait", "get_nowait"]
    if [p.data for p in packets] != ["0", "1", "2"] or queue.calls != expected:
        broken(
            "python-engineio",
            "AsyncSocket.poll()",
            f"took {[p.data for p in packets]} by {queue.calls} (expected one get, then "
            "get_nowait until QueueEmpty)",
            "caps a long-polling reply and counts packets taken by those two calls",
        )
    assert queue.taken == 3, "asyncio.Queue no longer takes every item through _get()"

    # QueueEmpty from get_nowait ends a poll: the rest waits for the next one.
    server.limit = 1
    capped = AsyncSocket(server, "capped")
    for n in range(3):
        capped.queue.put_nowait(engineio.packet.Packet(engineio.packet.MESSAGE, data=str(n)))
    first = await capped.poll()
    if len(first) != 2 or capped.queue.qsize() != 1:
        broken(
            "python-engineio",
            "AsyncSocket.poll()",
            f"took {len(first)} packets past a QueueEmpty (expected 2, one left queued)",
            "ends a long-polling reply that way after 16 packets",
        )


async def test_engineio_internals_the_gateway_guards_rely_on() -> None:
    """The gateway validates each frame in its WebSocket wrapper's `wait` (Engine.IO's
    read loop ends on an exception from it), closes sessions itself, and ends a closed
    socket's ping task, which it finds as the target Engine.IO starts it with."""
    wrapper = engineio_asgi.WebSocket
    require_parameters(wrapper.wait, ["self"], "python-engineio", "overrides it as")
    probe = wrapper(lambda ws: None, None)
    require_attribute(probe, "handler", "python-engineio", "lets go of it when a session ends")
    handler_source = inspect.getsource(AsyncSocket._websocket_handler)
    for needed in ("ws.wait()", "if p is None:", "except OSError:", "self.upgrading = True"):
        if needed not in handler_source:
            broken(
                "python-engineio",
                "AsyncSocket._websocket_handler",
                f"no longer has {needed!r}",
                "ends a session by returning None from its wrapper's wait() (OSError "
                "while the socket is upgrading)",
            )
    require_parameters(
        AsyncSocket.close, ["self", "wait", "abort", "reason"], "python-engineio", "calls it as"
    )
    require_parameters(
        engineio.AsyncServer.start_background_task,
        ["self", "target", "args", "kwargs"],
        "python-engineio",
    )
    require_attribute(
        AsyncSocket, "_send_ping", "python-engineio", "puts the socket on the ping wheel instead"
    )

    started: list[Any] = []

    class Server(engineio.AsyncServer):  # type: ignore[misc]
        def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
            started.append(target)
            return super().start_background_task(target, *args, **kwargs)

    sock = AsyncSocket(Server(async_mode="asgi"), "pinged")
    for name in ("closing", "last_ping", "upgrading", "upgraded"):
        require_attribute(sock, name, "python-engineio", "reads it")
    sock.schedule_ping()
    try:
        target = started[-1] if started else None
        if getattr(target, "__self__", None) is not sock or (
            getattr(target, "__func__", None) is not AsyncSocket._send_ping
        ):
            broken(
                "python-engineio",
                "AsyncSocket.schedule_ping()",
                f"started {target!r}, not the socket's _send_ping",
                "takes each socket's next ping from start_background_task",
            )
    finally:
        for task in asyncio.all_tasks():
            if "_send_ping" in repr(task.get_coro()):
                task.cancel()


def _require_source(function: Any, name: str, needed: tuple[str, ...], relied_on: str) -> None:
    source = inspect.getsource(function)
    for text in needed:
        if text not in source:
            broken("python-engineio", name, f"no longer has {text!r}", relied_on)


def test_engineio_internals_the_keepalive_relies_on() -> None:
    """edge/socket/keepalive.py serves every socket's pings from the server's service
    task, and lets a WebSocket session's writer wait without Engine.IO's timeout."""
    _require_source(
        engineio.AsyncServer._handle_connect,
        "AsyncServer._handle_connect",
        ("self._service_task", "s.schedule_ping()", "async_socket.AsyncSocket(self, sid)"),
        "replaces the service task; a new session's first ping is scheduled there",
    )
    _require_source(
        engineio.AsyncServer.shutdown,
        "AsyncServer.shutdown",
        ("self.service_task_event.set()", "await self.service_task_handle"),
        "ends its own service task the same way",
    )
    _require_source(
        AsyncSocket.receive,
        "AsyncSocket.receive",
        ("packet.PONG", "self.schedule_ping()"),
        "schedules the next ping on a pong",
    )
    _require_source(
        AsyncSocket._websocket_handler,
        "AsyncSocket._websocket_handler",
        ("await self.poll()", "await self.queue.put(None)"),
        "overrides poll() for sessions opened over WebSocket; None ends the writer",
    )
    _require_source(
        AsyncSocket.poll,
        "AsyncSocket.poll",
        ("self.queue.get()", "self.queue.task_done()", "get_nowait()", "QueueEmpty"),
        "reproduces it without the timeout",
    )
    _require_source(
        AsyncSocket._websocket_handler,
        "AsyncSocket._websocket_handler",
        (
            "if self.connected:",
            "self.connected = True",
            "self.upgraded = True",
            "await ws.send(pkt.encode())",
            "await ws.close()",
            "self.server.max_http_buffer_size",
            "packet.Packet(encoded_packet=p)",
            "await self.receive(pkt)",
            "reason=self.server.reason.TRANSPORT_CLOSE",
        ),
        "reproduces it for sessions opened over WebSocket, reading without a task per frame",
    )
    _require_source(
        AsyncSocket.close,
        "AsyncSocket.close",
        ("self.closed = True", "await self.queue.join()"),
        "ends the writer after it, which closes the WebSocket",
    )
    require_parameters(AsyncSocket.poll, ["self"], "python-engineio", "overrides it as")
    require_parameters(AsyncSocket.check_ping_timeout, ["self"], "python-engineio", "calls it as")
    require_parameters(AsyncSocket._websocket_handler, ["self", "ws"], "python-engineio")
    require_parameters(AsyncSocket.close, ["self", "wait", "abort", "reason"], "python-engineio")
    server = engineio.AsyncServer(async_mode="asgi")
    for name in ("ping_interval", "ping_timeout", "service_task_event", "sockets"):
        require_attribute(server, name, "python-engineio", "reads it")


def test_engineio_message_packet_is_4_then_the_text() -> None:
    message = engineio.packet.Packet(engineio.packet.MESSAGE, data='2/messaging,["e",1]')
    if engineio.packet.MESSAGE != 4 or message.encode() != '42/messaging,["e",1]':
        broken(
            "python-engineio",
            "packet.Packet(MESSAGE, data=text).encode()",
            f"gives {message.encode()!r}",
            "writes '4' + text frames itself, and queues such packets",
        )


# python-socketio -----------------------------------------------------------------------


def test_socketio_override_points() -> None:
    server_class = socketio.AsyncServer
    require_attribute(
        server_class, "_engineio_server_class", "python-socketio", "overrides it (its Engine.IO)"
    )
    require_parameters(server_class._engineio_server_class, ["self"], "python-socketio")
    require_attribute(
        server_class, "_handle_event_internal", "python-socketio", "overrides it (ack or not)"
    )
    require_parameters(
        server_class._handle_event_internal,
        ["self", "server", "sid", "eio_sid", "data", "namespace", "id"],
        "python-socketio",
    )
    require_parameters(
        socketio.AsyncNamespace.trigger_event, ["self", "event", "args"], "python-socketio"
    )
    packet = socketio.packet.Packet
    for name in ("uses_binary_events", "json"):
        require_attribute(packet, name, "python-socketio", "sets it on its own packet class")
    require_attribute(
        socketio.base_manager.BaseManager,
        "eio_sid_from_sid",
        "python-socketio",
        "maps a socket to its Engine.IO sid",
    )
    # The gateway's manager (edge/socket/manager.py) overrides these;
    # tests/test_socket_manager.py holds its disconnects to python-socketio's own.
    manager_methods = {
        "basic_disconnect": ["self", "sid", "namespace", "kwargs"],
        "basic_enter_room": ["self", "sid", "namespace", "room", "eio_sid"],
        "basic_leave_room": ["self", "sid", "namespace", "room"],
    }
    for name, parameters in manager_methods.items():
        method = require_attribute(
            socketio.base_manager.BaseManager, name, "python-socketio", "overrides or calls it"
        )
        require_parameters(method, parameters, "python-socketio", "overrides or calls it as")


async def test_socketio_internals_the_gateway_guards_rely_on() -> None:
    """The gateway decodes and dispatches Socket.IO packets itself (`_handle_eio_message`)
    through python-socketio's handlers, restricts namespaces, and completes the
    disconnect of a socket whose session closed during its handshake."""
    server_class = socketio.AsyncServer
    signatures = {
        "_handle_eio_connect": ["self", "eio_sid", "environ"],
        "_handle_eio_disconnect": ["self", "eio_sid", "reason"],
        "_handle_eio_message": ["self", "eio_sid", "data"],
        "_handle_connect": ["self", "eio_sid", "namespace", "data"],
        "_handle_disconnect": ["self", "eio_sid", "namespace", "reason"],
        "_handle_event": ["self", "eio_sid", "namespace", "id", "data"],
        "_send_packet": ["self", "eio_sid", "pkt"],
        "_trigger_event": ["self", "event", "namespace", "args"],
    }
    for name, parameters in signatures.items():
        method = require_attribute(server_class, name, "python-socketio", "overrides or calls it")
        require_parameters(method, parameters, "python-socketio", "overrides or calls it as")
    kinds = {"CONNECT": 0, "DISCONNECT": 1, "EVENT": 2, "ACK": 3, "CONNECT_ERROR": 4}
    kinds |= {"BINARY_EVENT": 5, "BINARY_ACK": 6}
    for name, value in kinds.items():
        if getattr(socketio.packet, name, None) != value:
            broken("python-socketio", f"packet.{name}", f"is not {value}", "dispatches on it")
    for reason in ("CLIENT_DISCONNECT", "SERVER_DISCONNECT"):
        require_attribute(server_class.reason, reason, "python-socketio", "passes it")

    sent: list[Any] = []
    triggered: list[str] = []

    class Engine(engineio.AsyncServer):  # type: ignore[misc]
        async def send(self, sid: str, data: Any) -> None:
            sent.append(data)

    class Server(socketio.AsyncServer):  # type: ignore[misc]
        def _engineio_server_class(self) -> type[Engine]:
            return Engine

    class Namespace(socketio.AsyncNamespace):  # type: ignore[misc]
        async def trigger_event(self, event: str, *args: Any) -> Any:
            triggered.append(event)
            return None

    quiet = logging.getLogger("hubbub.test.socketio")
    sio = Server(async_mode="asgi", namespaces=["/messaging"], logger=quiet)
    if sio.logger is not quiet:
        broken("python-socketio", "AsyncServer(logger=...)", "ignores a Logger", "passes one")
    sio.register_namespace(Namespace("/messaging"))
    await sio._handle_eio_connect("e1", {"QUERY_STRING": ""})
    for name in ("environ", "manager"):
        require_attribute(sio, name, "python-socketio", "reads it")
    if "e1" not in sio.environ:
        broken("python-socketio", "AsyncServer.environ", "is not keyed by eio sid", "reads it")
    await sio._handle_connect("e1", "/", None)
    if not sent or not str(sent[-1]).startswith("4"):
        broken(
            "python-socketio",
            "AsyncServer(namespaces=[...])",
            f"let a CONNECT to '/' through ({sent})",
            "refuses every namespace but /messaging with it",
        )
    manager = sio.manager
    for name in ("rooms", "callbacks"):
        require_attribute(manager, name, "python-socketio", "counts its entries")
    await sio._handle_connect("e1", "/messaging", None)
    sid = manager.sid_from_eio_sid("e1", "/messaging")
    assert sid is not None
    assert manager.is_connected(sid, "/messaging")
    assert sid in manager.rooms["/messaging"][None], "manager.rooms[ns][None] lost its sockets"
    await sio._handle_eio_disconnect("e1", sio.reason.CLIENT_DISCONNECT)
    if "e1" in sio.environ or "disconnect" not in triggered:
        broken(
            "python-socketio",
            "AsyncServer._handle_eio_disconnect",
            "no longer disconnects the namespaces and drops the environ",
            "tells a session closed during its handshake by its missing environ",
        )


class _Json:
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    @classmethod
    def dumps(cls, obj: Any, **kwargs: Any) -> str:
        import json

        cls.calls.append(("dumps", kwargs))
        return json.dumps(obj, **kwargs)

    @classmethod
    def loads(cls, text: str | bytes, **kwargs: Any) -> Any:
        import json

        cls.calls.append(("loads", kwargs))
        return json.loads(text, **kwargs)


class _JsonPacket(socketio.packet.Packet):  # type: ignore[misc]
    uses_binary_events = False
    json = _Json

    def data_is_binary(self, data: Any) -> bool:
        raise AssertionError("walked the payload for binary attachments")


def test_socketio_packet_class_attributes() -> None:
    _Json.calls.clear()
    try:
        packet = _JsonPacket(socketio.packet.EVENT, data=["e", {"a": 1}], namespace="/messaging")
    except AssertionError:
        broken(
            "python-socketio",
            "packet.Packet.uses_binary_events",
            "no longer stops the binary walk",
            "sets it False on its packet class to skip that walk",
        )
    encoded = packet.encode()
    if encoded != '2/messaging,["e",{"a":1}]' or [c for c, _ in _Json.calls] != ["dumps"]:
        broken(
            "python-socketio",
            "packet.Packet.json",
            f"was not used to encode {encoded!r} ({_Json.calls})",
            "encodes packets with its own `json` class attribute, and writes events of "
            "that form itself",
        )
    decoded = _JsonPacket(encoded_packet='2/messaging,7["e",1]')
    assert decoded.data == ["e", 1], f"{version_of('python-socketio')}: decoded {decoded.data}"
    assert decoded.id == 7
    assert _Json.calls[-1][0] == "loads", "packet.Packet.json is no longer used to decode"


async def test_socketio_server_runs_events_through_the_overridden_methods() -> None:
    engine_sends: list[tuple[str, Any]] = []
    internal_calls: list[tuple[Any, ...]] = []
    triggered: list[tuple[str, tuple[Any, ...]]] = []

    class Engine(engineio.AsyncServer):  # type: ignore[misc]
        async def send(self, sid: str, data: Any) -> None:
            engine_sends.append((sid, data))

    class Server(socketio.AsyncServer):  # type: ignore[misc]
        def _engineio_server_class(self) -> type[Engine]:
            return Engine

        async def _handle_event_internal(  # noqa: PLR0917 (python-socketio's signature)
            self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
        ) -> None:
            internal_calls.append((eio_sid, data, namespace, id))
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    class Namespace(socketio.AsyncNamespace):  # type: ignore[misc]
        async def trigger_event(self, event: str, *args: Any) -> Any:
            triggered.append((event, args))
            if event in ("connect", "disconnect"):
                return await super().trigger_event(event, *args)
            return {"ok": True}

    sio = Server(async_mode="asgi", async_handlers=False, serializer=_JsonPacket)
    if not isinstance(sio.eio, Engine):
        broken(
            "python-socketio",
            "AsyncServer._engineio_server_class()",
            f"no longer makes `eio` ({type(sio.eio)})",
            "overrides it to run its own Engine.IO server",
        )
    assert sio.packet_class is _JsonPacket, "AsyncServer(serializer=cls) no longer used"
    namespace = Namespace("/messaging")
    sio.register_namespace(namespace)
    if getattr(namespace, "server", None) is not sio:
        broken(
            "python-socketio",
            "AsyncNamespace.server",
            "is not the server it was registered on",
            "reaches the server's manager through it",
        )

    await sio._handle_eio_connect("e1", {"QUERY_STRING": ""})
    await sio._handle_eio_message("e1", "0/messaging,")
    connect = [args for event, args in triggered if event == "connect"]
    assert connect, f"{version_of('python-socketio')}: the connect handler was not called"
    assert len(connect[0]) == 3, "connect handlers are no longer called as (sid, environ, auth)"
    sid = connect[0][0]
    assert sio.manager.eio_sid_from_sid(sid, "/messaging") == "e1"

    await sio._handle_eio_message("e1", '2/messaging,7["send_message",{"a":1}]')
    if internal_calls != [("e1", ["send_message", {"a": 1}], "/messaging", 7)]:
        broken(
            "python-socketio",
            "AsyncServer._handle_event_internal",
            f"was called with {internal_calls}",
            "reads the ack id there, before the namespace handles the event",
        )
    assert triggered[-1] == ("send_message", (sid, {"a": 1})), (
        f"{version_of('python-socketio')}: trigger_event got {triggered[-1]}"
    )
    texts = [data for eio_sid, data in engine_sends if eio_sid == "e1"]
    if not all(isinstance(t, str) for t in texts) or texts[-1] != '3/messaging,7[{"ok":true}]':
        broken(
            "python-socketio",
            "AsyncServer._send_packet",
            f"handed Engine.IO {texts}",
            "writes Socket.IO's own packets (text) itself from its Engine.IO's send(sid, data)",
        )


# asyncio -------------------------------------------------------------------------------


def test_asyncio_queue_and_event_keep_their_waiters_where_the_sockets_slim_them() -> None:
    """hubbub.edge.socket.queues swaps these deques for lists: were they renamed, the
    swap would add attributes beside them and every socket keep its deques."""
    python = f"Python {sys.version.split()[0]}"
    use = "swaps it for a list on every socket's queues (edge/socket/queues.py)"
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for name in ("_getters", "_putters", "_queue"):
        if not isinstance(getattr(queue, name, None), collections.deque):
            pytest.fail(f"{python}: asyncio.Queue.{name} is no longer a deque; hubbub {use}")
    if not isinstance(getattr(queue, "_finished", None), asyncio.Event):
        pytest.fail(f"{python}: asyncio.Queue._finished is no longer an Event; hubbub {use}")
    if not isinstance(getattr(asyncio.Event(), "_waiters", None), collections.deque):
        pytest.fail(f"{python}: asyncio.Event._waiters is no longer a deque; hubbub {use}")


# uvicorn -------------------------------------------------------------------------------


def test_uvicorn_websocket_receive_is_what_hubbub_reads_frames_with() -> None:
    """`DirectWebSocket._next_event` takes ASGI messages from the protocol's queue as
    the protocol's own `receive` does (resuming a paused read when it takes the last
    one), without its coroutine."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    source = inspect.getsource(WebSocketsSansIOProtocol.receive)
    for text in (
        "await self.queue.get()",
        "if self.read_paused and self.queue.empty():",
        "self.read_paused = False",
        "self.transport.resume_reading()",
    ):
        if text not in source:
            broken(
                "uvicorn",
                "WebSocketsSansIOProtocol.receive",
                f"no longer has {text!r}",
                "reproduces it in DirectWebSocket._next_event",
            )
    statements = [line.strip() for line in source.splitlines()[1:] if line.strip()]
    if len(statements) != 5:
        broken(
            "uvicorn",
            "WebSocketsSansIOProtocol.receive",
            f"has {len(statements)} lines where it had 5",
            "reproduces it in DirectWebSocket._next_event",
        )


def test_engineio_decodes_text_packets_with_the_json_module_it_is_given() -> None:
    """hubbub gives its server `json=FastJson` so that Engine.IO's own parse of a text
    packet (any that does not start with a digit) is depth-checked too; and its
    `disconnect`, which hubbub replaces, is still the one a refused POST calls."""
    import engineio.base_server
    from engineio import packet as engineio_packet

    init = inspect.getsource(engineio.base_server.BaseServer.__init__)
    if "packet.Packet.json = json" not in init:
        broken(
            "python-engineio",
            "BaseServer.__init__(json=...)",
            "no longer sets packet.Packet.json",
            "passes its depth-checked JSON module there",
        )
    if "self.json.loads(" not in inspect.getsource(engineio_packet.Packet.decode):
        broken(
            "python-engineio",
            "Packet.decode",
            "no longer parses through self.json.loads",
            "depth-checks that parse with its own JSON module",
        )
    handle = inspect.getsource(engineio.AsyncServer.handle_request)
    if "await self.disconnect(sid)" not in handle:
        broken(
            "python-engineio",
            "AsyncServer.handle_request",
            "no longer disconnects a session whose request it refuses through disconnect",
            "overrides disconnect so that it does not wait for a GET that may never come",
        )


def test_uvicorn_logs_a_websocket_opening_through_its_protocol_logger() -> None:
    """`DirectWebSocket.__call__` gives each protocol hubbub's `websocket_log` before the
    accept, so that the opening line follows the access log's setting, and the websockets
    protocol beneath it a logger of warnings only."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.server import ServerProtocol

    init = inspect.getsource(WebSocketsSansIOProtocol.__init__)
    send = inspect.getsource(WebSocketsSansIOProtocol.send)
    if "self.conn = ServerProtocol(" not in init or "logger=" not in init:
        broken(
            "uvicorn",
            "WebSocketsSansIOProtocol.__init__",
            "no longer keeps a websockets ServerProtocol with a logger as self.conn",
            "replaces that logger too (its 'connection open' repeats the accept line)",
        )
    if 'self.logger.info("connection open")' not in inspect.getsource(ServerProtocol.send_response):
        broken(
            "websockets",
            "ServerProtocol.send_response",
            "no longer logs 'connection open' through self.logger",
            "replaces that logger with hubbub.websocket.library (warnings only)",
        )
    if 'self.logger = logging.getLogger("uvicorn.error")' not in init:
        broken(
            "uvicorn",
            "WebSocketsSansIOProtocol.__init__",
            "no longer sets self.logger",
            "replaces the protocol's logger with hubbub.websocket",
        )
    accepted = send.find("[accepted]")
    if accepted < 0 or "self.logger.info(" not in send[max(0, accepted - 200) : accepted]:
        broken(
            "uvicorn",
            "WebSocketsSansIOProtocol.send",
            "no longer logs the accept through self.logger.info",
            "replaces the protocol's logger with hubbub.websocket",
        )


def test_uvicorn_serves_with_the_options_hubbub_passes() -> None:
    import uvicorn
    import uvicorn.config

    parameters = inspect.signature(uvicorn.Config.__init__).parameters
    options = (
        "loop",
        "http",
        "ws",
        "ws_per_message_deflate",
        "ws_ping_interval",
        "lifespan",
        "access_log",
        "timeout_graceful_shutdown",
        "ws_max_size",
        "log_config",
        "interface",
    )
    for option in options:
        if option not in parameters:
            broken("uvicorn", f"Config({option}=...)", "is gone", "passes it to uvicorn.run")
    handlers = uvicorn.config.LOGGING_CONFIG.get("handlers")
    if not isinstance(handlers, dict) or not {"default", "access"} <= set(handlers):
        broken(
            "uvicorn",
            "config.LOGGING_CONFIG['handlers']",
            f"is {handlers!r:.80}",
            "adds its secret-redacting filter to each handler of a copy of it",
        )
    if "websockets-sansio" not in uvicorn.config.WS_PROTOCOLS:
        broken(
            "uvicorn",
            "the 'websockets-sansio' protocol",
            "is gone",
            "serves WebSockets with it and writes to its transport",
        )


async def test_uvicorn_websocket_gives_engineio_the_transport_hubbub_writes_to() -> None:
    """The whole path of a direct write: uvicorn's websockets-sansio protocol calls the
    ASGI app with its own bound `send`; Engine.IO puts that in the environ it gives its
    WebSocket wrapper, built from the server's driver table with the socket's handler;
    the protocol's transport takes frames written beside the protocol's own."""
    from websockets.asyncio.client import connect

    seen: dict[str, Any] = {}
    sent: list[Any] = []

    class RecordingWebSocket(engineio_asgi.WebSocket):  # type: ignore[misc]
        def __init__(self, handler: Any, server: Any) -> None:
            super().__init__(handler, server)
            seen["socket"] = getattr(handler, "__self__", None)

        async def __call__(self, environ: dict[str, Any]) -> str:
            seen["environ"] = environ
            seen["ws"] = self
            result: str = await super().__call__(environ)
            return result

        async def send(self, message: Any) -> None:
            sent.append(message)
            await super().send(message)

    class Server(engineio.AsyncServer):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._async = dict(self._async, websocket=RecordingWebSocket)

    eio = Server(async_mode="asgi", monitor_clients=False)
    async with _serving(eio) as port:
        url = f"ws://127.0.0.1:{port}/engine.io/?EIO=4&transport=websocket"
        async with connect(url, compression=None) as client:
            opened = await client.recv()
            await _check_direct_path(eio, seen, sent, opened, client)


async def test_a_websocket_lets_go_of_its_handshake_once_open() -> None:
    """hubbub's WebSocket wrapper drops the scope's headers and uvicorn's parsed request
    and response once the 101 has gone out (4 KiB per idle socket), and the socket
    still carries frames both ways."""
    from websockets.asyncio.client import connect

    from hubbub.edge.socket.engine import DirectEngineIO, DirectWebSocket
    from hubbub.edge.socket.keepalive import OpenedOverWebSocket
    from hubbub.edge.socket.queues import Line

    seen: dict[str, Any] = {}
    received: list[str] = []

    class Wrapper(DirectWebSocket):
        async def __call__(self, environ: dict[str, Any]) -> str:
            seen["scope"] = environ["asgi.scope"]
            seen["protocol"] = environ["asgi.send"].__self__
            seen["request"] = seen["protocol"].request
            return await super().__call__(environ)

    class Server(DirectEngineIO):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._async = dict(self._async, websocket=Wrapper)

    eio = Server(async_mode="asgi", monitor_clients=False)

    @eio.on("message")  # type: ignore[untyped-decorator]
    async def echo(sid: str, data: str) -> None:
        received.append(data)
        await eio.send(sid, "echo " + data)

    async with _serving(eio) as port:
        url = f"ws://127.0.0.1:{port}/engine.io/?EIO=4&transport=websocket"
        big = {"X-Big": "x" * 500}
        async with connect(url, compression=None, additional_headers=big) as client:
            assert str(await client.recv()).startswith("0")
            protocol, scope = seen["protocol"], seen["scope"]
            async with asyncio.timeout(5):
                while protocol.request is not None:  # noqa: ASYNC110 (no event to wait on)
                    await asyncio.sleep(0.01)
            assert protocol.response is None
            assert scope["headers"] == []
            # uvicorn's queue of ASGI messages and its `writable` event hold lines now
            # (hubbub.edge.socket.queues), and still carry the frames below.
            inbox, writable = protocol.queue, protocol.writable
            for line in (inbox._getters, inbox._queue, inbox._finished._waiters):
                assert isinstance(line, Line), f"uvicorn's queue kept a {type(line)}"
            assert isinstance(writable._waiters, Line)
            assert len(seen["request"].headers) == 0  # the websockets parser holds it
            await client.send("4hello")
            assert await client.recv() == "4echo hello"
            # Opened over WebSocket, it reads its frames in its own handler: no task
            # waits for the next frame (Engine.IO's read loop keeps one per socket).
            (sock,) = eio.sockets.values()
            assert type(sock) is OpenedOverWebSocket
            waiting = [t for t in asyncio.all_tasks() if "websocket_wait" in repr(t)]
            assert waiting == []
            # Nor a writer while nothing waits to be written.
            writing = [t for t in asyncio.all_tasks() if "_write_queued" in repr(t)]
            assert writing == []
    assert received == ["hello"]


@contextlib.asynccontextmanager
async def _serving(eio: Any) -> AsyncIterator[int]:
    """A real uvicorn serving `eio` over the websockets-sansio protocol; its port."""
    import uvicorn

    config = uvicorn.Config(
        engineio.ASGIApp(eio),
        http="auto",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            async with asyncio.timeout(10):
                while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag only)
                    await asyncio.sleep(0.01)
            yield port
        finally:
            server.should_exit = True
            await serving


async def _check_direct_path(
    eio: Any, seen: dict[str, Any], sent: list[Any], opened: Any, client: Any
) -> None:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    assert isinstance(opened, str), f"Engine.IO opened with {opened!r}"
    assert opened.startswith("0"), f"Engine.IO opened with {opened!r}"
    if sent[:1] != [opened]:
        broken(
            "python-engineio",
            "the WebSocket wrapper's send(message)",
            f"did not carry the OPEN packet ({sent})",
            "counts queued packets written through it",
        )
    sock = seen.get("socket")
    if not isinstance(sock, AsyncSocket) or eio.sockets.get(sock.sid) is not sock:
        broken(
            "python-engineio",
            "the WebSocket wrapper's handler",
            f"is not a bound method of the socket ({sock!r})",
            "finds each socket as handler.__self__",
        )
    environ = seen["environ"]
    if "sid=" in environ.get("QUERY_STRING", "sid="):
        broken(
            "python-engineio",
            "environ['QUERY_STRING']",
            f"is {environ.get('QUERY_STRING')!r} for a WebSocket opened directly",
            "tells such sockets from upgraded ones by the absence of sid=",
        )
    protocol = getattr(environ.get("asgi.send"), "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        broken(
            "uvicorn",
            "environ['asgi.send'].__self__",
            f"is {protocol!r}, not the WebSocketsSansIOProtocol",
            "finds the protocol (and its transport) as the ASGI send's __self__",
        )
    use = "writes frames to the transport while the protocol has not sent a close"
    transport = require_attribute(protocol, "transport", "uvicorn", use)
    for method in ("write", "get_write_buffer_size", "is_closing"):
        if not callable(getattr(transport, method, None)):
            broken("uvicorn", f"the protocol's transport.{method}", "is gone", use)
    if require_attribute(protocol, "close_sent", "uvicorn", use) is not False:
        broken("uvicorn", "protocol.close_sent", "is not False on an open WebSocket", use)
    use = "lets go of the handshake's request and response once the socket is open"
    if require_attribute(protocol, "handshake_complete", "uvicorn", use) is not True:
        broken("uvicorn", "protocol.handshake_complete", "is not True once open", use)
    for name in ("request", "response"):
        if require_attribute(protocol, name, "uvicorn", use) is None:
            broken("uvicorn", f"protocol.{name}", "is not kept after the handshake", use)
    if not isinstance(protocol.scope.get("headers"), list):
        broken("uvicorn", "scope['headers']", "is not a list", "empties it in place")

    transport.write(text_frame("4written directly"))
    assert isinstance(transport.get_write_buffer_size(), int)
    assert await client.recv() == "4written directly"
    await eio.send(sock.sid, "queued")
    assert await client.recv() == "4queued"
    assert sent[-1] == "4queued"

    await seen["ws"].close()
    if protocol.close_sent is not True:
        broken("uvicorn", "protocol.close_sent", "stays False after websocket.close", use)


# SQLAlchemy ----------------------------------------------------------------------------


async def test_sqlalchemy_compiled_statement_internals(tmp_path: Path) -> None:
    from sqlalchemy import (
        Column,
        DateTime,
        Integer,
        MetaData,
        String,
        Table,
        Uuid,
        bindparam,
        select,
    )
    from sqlalchemy.ext.asyncio import create_async_engine

    table = Table(
        "probe",
        MetaData(),
        Column("id", Uuid),
        Column("n", Integer),
        Column("status", String),
        Column("at", DateTime(timezone=True)),
    )
    query = select(table.c.id, table.c.at).where(
        table.c.n == bindparam("n"), table.c.status == "ACTIVE"
    )
    use = "compiles statements once and binds their parameters by position itself"
    engines = {
        "?": create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}"),
        "$1": create_async_engine("postgresql+asyncpg://probe@127.0.0.1:1/probe"),
    }
    try:
        for placeholder, engine in engines.items():
            dialect = engine.dialect
            compiled = query.compile(dialect=dialect)
            for name in ("positional", "positiontup", "binds", "string"):
                require_attribute(compiled, name, "sqlalchemy", use)
            names = list(compiled.positiontup or ())
            if not compiled.positional or names != ["n", "status_1"]:
                broken(
                    "sqlalchemy",
                    f"{dialect.name} SQLCompiler.positiontup",
                    f"is {compiled.positiontup!r} (positional={compiled.positional})",
                    use,
                )
            assert placeholder in compiled.string, compiled.string
            fixed = compiled.binds["status_1"]
            for name in ("type", "value", "effective_value"):
                require_attribute(fixed, name, "sqlalchemy", use)
            assert fixed.effective_value == "ACTIVE"
            assert compiled.binds["n"].value is None
            for column in (table.c.id, table.c.at):
                impl = column.type.dialect_impl(dialect)
                bind = impl.bind_processor(dialect)
                result = impl.result_processor(dialect, None)
                assert bind is None or callable(bind)
                assert result is None or callable(result)

            insert = table.insert().compile(dialect=dialect, column_keys=["id", "n"])
            if list(insert.positiontup or ()) != ["id", "n"] or "status" in insert.string:
                broken(
                    "sqlalchemy",
                    "compile(column_keys=...) of an INSERT",
                    f"gave {insert.string!r} ({insert.positiontup!r})",
                    "names an INSERT's columns that way",
                )
        # On SQLite a Uuid is stored as 32 hex digits: hubbub binds UUIDs it compares
        # with such columns in that form itself.
        sqlite = engines["?"].dialect
        value = uuid.uuid4()
        processor = Uuid().dialect_impl(sqlite).bind_processor(sqlite)
        assert processor is not None
        assert processor(value) == value.hex
    finally:
        for engine in engines.values():
            await engine.dispose()


async def test_sqlalchemy_before_cursor_execute_dispatch(tmp_path: Path) -> None:
    from sqlalchemy import event
    from sqlalchemy.events import ConnectionEvents
    from sqlalchemy.ext.asyncio import create_async_engine

    require_parameters(
        ConnectionEvents.before_cursor_execute,
        ["self", "conn", "cursor", "statement", "parameters", "context", "executemany"],
        "sqlalchemy",
        "calls the engine's dispatcher of it with positional arguments",
    )
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}")
    heard: list[tuple[Any, ...]] = []

    def listener(*args: Any) -> None:
        heard.append(args)

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    use = "announces the statements it runs on the driver itself through it"
    dispatch = require_attribute(
        engine.sync_engine.dispatch, "before_cursor_execute", "sqlalchemy", use
    )
    if not dispatch:
        broken(
            "sqlalchemy", "Engine.dispatch.before_cursor_execute", "is falsy with a listener", use
        )
    connection = object()
    dispatch(connection, None, "SELECT ?", (1,), None, False)
    if heard != [(connection, None, "SELECT ?", (1,), None, False)]:
        broken("sqlalchemy", "Engine.dispatch.before_cursor_execute(...)", f"gave {heard}", use)
    await engine.dispose()


async def test_sqlalchemy_custom_element_cache_internals() -> None:
    from sqlalchemy import ColumnElement, Integer, String, bindparam, select
    from sqlalchemy.dialects.sqlite.aiosqlite import dialect as sqlite_dialect
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.visitors import InternalTraversal

    use = "declares _traverse_internals on its own SQL element (the pairs of among_pairs)"
    for name in ("dp_type", "dp_clauseelement"):
        require_attribute(InternalTraversal, name, "sqlalchemy", use)

    class Probe(ColumnElement[Any]):
        __visit_name__ = "hubbub_internals_probe"
        inherit_cache = True
        _traverse_internals = [  # noqa: RUF012
            ("first_type", InternalTraversal.dp_type),
            ("pairs", InternalTraversal.dp_clauseelement),
        ]

        def __init__(self, first_type: Any, name: str) -> None:
            self.first_type = first_type
            self.pairs = bindparam(name, type_=String())

    @compiles(Probe)
    def _compile(element: Probe, compiler: Any, **kw: Any) -> str:
        pairs = compiler.process(element.pairs, **kw)
        type_name = compiler.dialect.type_compiler_instance.process(element.first_type)
        return "CAST(" + pairs + " AS " + type_name + ")"

    keys = [Probe(t, "p")._generate_cache_key() for t in (Integer(), Integer(), String())]
    if None in keys or keys[0] != keys[1] or keys[0] == keys[2]:
        broken("sqlalchemy", "cache keys from _traverse_internals", f"are {keys}", use)
    compiled = select(Probe(Integer(), "p")).compile(dialect=sqlite_dialect())
    if "CAST(? AS INTEGER)" not in compiled.string or list(compiled.positiontup or ()) != ["p"]:
        broken(
            "sqlalchemy",
            "compiler.dialect.type_compiler_instance / the element's bound parameter",
            f"gave {compiled.string!r}",
            use,
        )


# SQLAlchemy's aiosqlite adapter and aiosqlite ------------------------------------------


def test_aiosqlite_error_classes_and_stop() -> None:
    import aiosqlite

    for name in (
        "DatabaseError",
        "Error",
        "IntegrityError",
        "NotSupportedError",
        "OperationalError",
        "ProgrammingError",
    ):
        if getattr(aiosqlite, name, None) is not getattr(sqlite3, name):
            broken(
                "aiosqlite",
                f"aiosqlite.{name}",
                f"is not sqlite3.{name}",
                "raises sqlite3's errors where SQLAlchemy expects aiosqlite's",
            )
    require_attribute(
        aiosqlite.Connection,
        "stop",
        "aiosqlite",
        "gives SQLAlchemy a `stop` to terminate broken connections with (SQLAlchemy "
        "looks for it on aiosqlite.Connection)",
    )


async def test_sqlalchemy_aiosqlite_adapter_runs_an_inline_connection(tmp_path: Path) -> None:
    """What the embedded SQLite driver relies on: SQLAlchemy's aiosqlite adapter, fed by
    `async_creator`, drives a connection of aiosqlite's shape (cursor entered, isolation
    level set through `_tx` on `_conn`, `_connection` checked, `stop` to terminate), maps
    sqlite3's errors, and hands that connection back as `driver_connection`."""
    from sqlalchemy import event, exc, text
    from sqlalchemy.ext.asyncio import create_async_engine

    path = tmp_path / "probe.db"
    # hubbub's own inline connection (`hubbub.store.sqlite_driver`), as the engine gets it.
    made: list[InlineConnection] = []

    async def connect() -> InlineConnection:
        made.append(InlineConnection(sqlite3.connect(path, check_same_thread=False)))
        return made[-1]

    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}", async_creator=connect, pool_size=1, max_overflow=0
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    problem = (
        "no longer drives the aiosqlite-shaped connection hubbub's inline SQLite driver gives it"
    )
    use = "runs sqlite3 inline behind SQLAlchemy's aiosqlite dialect"
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}])
            rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]
        assert made, "async_creator was not called"
        assert made[0]._conn.isolation_level is None, "isolation level not set through _tx"
        if driver is not made[0]:
            broken(
                "sqlalchemy",
                "get_raw_connection().driver_connection",
                f"is {driver!r}, not the connection async_creator made",
                "runs the group commit on it",
            )
        with pytest.raises(exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        if not engine.dialect.has_terminate:
            broken(
                "sqlalchemy",
                "the aiosqlite dialect's has_terminate",
                "is False",
                "terminates broken connections with its `stop`",
            )
        async with engine.connect() as conn:
            await conn.invalidate()
        assert made[0]._connection is None, "an invalidated connection was not closed"
    except (AttributeError, TypeError) as error:
        broken("sqlalchemy", "the aiosqlite adapter", f"{problem} ({error!r})", use)
    finally:
        await engine.dispose()

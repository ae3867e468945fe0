"""The read loop of a session opened over WebSocket (`OpenedOverWebSocket` in
`hubbub.edge.socket.keepalive`): it hands each frame to Engine.IO as Engine.IO's own
loop does, and however the session ends (the client closes, the server closes it, the
read is cancelled, a frame is too large) its writing ends, its WebSocket is closed and
its disconnect handler runs once, with no task left behind. A writer runs only while
packets wait: an idle session holds none."""

from __future__ import annotations

import asyncio
from typing import Any

import engineio

from hubbub.edge.socket.engine import DirectEngineIO
from hubbub.edge.socket.keepalive import OpenedOverWebSocket


class FrameSource:
    """A WebSocket as Engine.IO's handler sees it: frames in, packets out. Closing it
    ends the read, as closing uvicorn's does."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent: list[str] = []
        self.closed = 0

    async def wait(self) -> str | None:
        return await self.frames.get()

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def close(self) -> None:
        self.closed += 1
        self.frames.put_nowait(None)


class Session:
    def __init__(self) -> None:
        self.server = DirectEngineIO(async_mode="asgi", max_http_buffer_size=64)
        self.messages: list[str] = []
        self.disconnects: list[Any] = []

        @self.server.on("message")  # type: ignore[untyped-decorator]
        async def message(sid: str, data: str) -> None:
            self.messages.append(data)

        @self.server.on("disconnect")  # type: ignore[untyped-decorator]
        async def disconnect(sid: str, reason: Any) -> None:
            self.disconnects.append(reason)

        self.socket = OpenedOverWebSocket(self.server, "s1")
        self.server.sockets["s1"] = self.socket
        self.ws = FrameSource()
        self.handler = asyncio.create_task(self.socket._websocket_handler(self.ws))

    async def ended(self) -> None:
        await asyncio.wait_for(self.handler, 2)
        assert self.socket.closed
        assert self.ws.closed >= 1
        assert len(self.disconnects) == 1, self.disconnects
        assert writers() == []
        assert self.socket.queue.drainer is None  # no cycle left between the two


def writers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "_write_queued" in repr(t)]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_reach_engineio_in_order_until_the_client_closes() -> None:
    session = Session()
    for text in ("4one", "4two", "3"):  # two messages and a pong
        session.ws.frames.put_nowait(text)
    await _settle()
    assert session.messages == ["one", "two"]
    assert not session.handler.done()
    assert writers() == []  # nothing to write: no writer waits
    await session.socket.send(engineio.packet.Packet(engineio.packet.MESSAGE, data="out"))
    await session.socket.send(engineio.packet.Packet(engineio.packet.MESSAGE, data="more"))
    assert len(writers()) == 1  # one writer for both
    await _settle()
    assert session.ws.sent == ["4out", "4more"]  # written in order, then the writer ends
    assert writers() == []
    await session.socket.send(engineio.packet.Packet(engineio.packet.MESSAGE, data="again"))
    await _settle()
    assert session.ws.sent == ["4out", "4more", "4again"]
    session.ws.frames.put_nowait(None)  # the client went away
    await session.ended()
    assert session.disconnects == [session.server.reason.TRANSPORT_CLOSE]


async def test_a_session_closed_by_the_server_stops_reading() -> None:
    session = Session()
    await _settle()
    await session.socket.close(wait=False, abort=False)
    await session.ended()
    assert session.ws.sent == ["1"]  # Engine.IO's CLOSE packet, then the WebSocket's close
    assert session.disconnects == [session.server.reason.SERVER_DISCONNECT]


async def test_a_cancelled_read_still_ends_the_session() -> None:
    session = Session()
    await _settle()
    session.handler.cancel()  # as a shutdown past its grace cancels the ASGI call
    await session.ended()
    assert session.disconnects == [session.server.reason.TRANSPORT_CLOSE]


async def test_a_frame_too_large_ends_the_session_unread() -> None:
    session = Session()
    session.ws.frames.put_nowait("4" + "x" * 100)  # over max_http_buffer_size
    await session.ended()
    assert session.messages == []


async def test_packets_queued_during_a_slow_write_follow_it_from_the_same_writer() -> None:
    session = Session()
    gate = asyncio.Event()
    sent = session.ws.sent

    async def slow_send(text: str) -> None:  # a client reading slowly: the write waits
        await gate.wait()
        sent.append(text)

    session.ws.send = slow_send  # type: ignore[method-assign]
    await session.socket.send(engineio.packet.Packet(engineio.packet.MESSAGE, data="a"))
    await _settle()
    (writer,) = writers()
    await session.socket.send(engineio.packet.Packet(engineio.packet.MESSAGE, data="b"))
    assert writers() == [writer]  # the one that waits takes it too
    gate.set()
    await _settle()
    assert sent == ["4a", "4b"]
    assert writers() == []


async def test_a_failed_write_closes_the_websocket_once_and_ends_the_session() -> None:
    session = Session()
    tried: list[str] = []

    async def broken_send(text: str) -> None:
        tried.append(text)
        raise OSError("connection reset")

    session.ws.send = broken_send  # type: ignore[method-assign]
    await session.socket.send(engineio.packet.Packet(engineio.packet.MESSAGE, data="a"))
    session.socket.queue.put_nowait(engineio.packet.Packet(engineio.packet.MESSAGE, data="b"))
    await session.ended()  # the writer closed the WebSocket, which ended the read
    assert tried == ["4a"]  # nothing after the failed write
    assert session.ws.closed == 1
    assert session.disconnects == [session.server.reason.TRANSPORT_CLOSE]

"""Engine.IO's keep-alive for every socket of the node, from one timer.

Engine.IO pings each socket every ping interval; the client answers with a pong, and a
socket that has not answered within the ping timeout is closed. python-engineio starts
a task per socket for each ping (a task, a coroutine and a timer asleep for 25 s, then
a packet through the socket's queue and writer task) and sweeps every socket for
timeouts one at a time with a `wait_for` each: at 10,000 idle sockets that is 400 tasks
and 500 `wait_for`s a second, a quarter of an idle node's CPU in its profile.

Here `PingWheel` keeps the sockets due for a ping in buckets of `TICK_S`; one task (the
Engine.IO server's service task, `DirectEngineIO._service_task` in `engine.py`) takes
the due buckets each tick and writes the PING frame straight to each socket's transport
(through the queue when something waits in it, or for long-polling), and sweeps the
table for sockets past their timeout every `SWEEP_S`. A ping goes out at most a tick
after its interval, well inside the client's allowance (interval + timeout).

A session opened over WebSocket becomes an `OpenedOverWebSocket`: its pings no longer
pass through its queue, so its writing must not give up after interval + timeout
without a packet, as Engine.IO's writer does; and a writer runs only while packets
wait in the queue, where Engine.IO keeps one waiting on the empty queue for the whole
session. Its read loop awaits each frame itself, where Engine.IO's wraps every wait in
a task and a `wait_for` of interval + timeout: a task, a future and a timer for every
frame received, held by every idle socket. The sweep already closes a socket that
leaves a ping unanswered past the timeout, and closing sends the WebSocket's close,
which ends the read.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from engineio import exceptions as engineio_exceptions
from engineio import packet as engineio_packet
from engineio.async_socket import AsyncSocket

from hubbub.edge.socket.queues import CountingQueue

# Each bucket is a second of due times (~400 pings per tick at 10,000 sockets), or a
# quarter of the ping timeout when that is shorter: the client expects the next ping
# within interval + timeout of the last one, and a ping goes out up to a tick late.
TICK_S = 1.0
# The timeout sweep walks the whole table (~1.5 ms at 10,000 sockets), a few times per
# ping timeout (20 s): a silent socket is closed at most this much after its timeout.
SWEEP_S = 5.0


class PingWheel:
    """Sockets waiting for their next ping, bucketed by the tick their ping is due in."""

    def __init__(self, interval_s: float, tick_s: float = TICK_S) -> None:
        self._interval_s = interval_s
        self.tick_s = tick_s
        self._buckets: dict[int, dict[str, Any]] = {}
        self._due_in: dict[str, int] = {}  # sid -> its bucket

    def schedule(self, sid: str, socket: Any, *, now: float | None = None) -> None:
        """`socket` is pinged once `interval_s` has passed (rounded up to a tick)."""
        at = (time.monotonic() if now is None else now) + self._interval_s
        bucket = math.ceil(at / self.tick_s)
        self.forget(sid)
        self._buckets.setdefault(bucket, {})[sid] = socket
        self._due_in[sid] = bucket

    def forget(self, sid: str) -> None:
        """`sid` is closing: it is pinged no more, and not held until its bucket."""
        bucket = self._due_in.pop(sid, None)
        if bucket is not None:
            waiting = self._buckets.get(bucket)
            if waiting is not None:
                waiting.pop(sid, None)
                if not waiting:
                    del self._buckets[bucket]

    def take_due(self, *, now: float | None = None) -> list[Any]:
        """The sockets whose ping is due by `now`, removed from the wheel."""
        current = math.floor((time.monotonic() if now is None else now) / self.tick_s)
        due: list[Any] = []
        for bucket in sorted(b for b in self._buckets if b <= current):
            for sid, socket in self._buckets.pop(bucket).items():
                self._due_in.pop(sid, None)
                due.append(socket)
        return due

    def __len__(self) -> int:
        return len(self._due_in)


class OpenedOverWebSocket(AsyncSocket):  # type: ignore[misc]
    """An Engine.IO session opened over WebSocket, whose pings the keep-alive writes
    straight to its transport. Engine.IO's writer waits for its next packet for at most
    interval + timeout and then closes the socket, a limit that only the pings it queued
    kept from firing; here a writer runs only while packets wait in the queue (its
    `drainer`), so an idle socket holds none. A silent client is closed by the
    keep-alive's sweep, and the read loop's None still ends the writing."""

    connected: bool
    upgraded: bool

    async def poll(self) -> list[Any]:
        try:
            first = await self.queue.get()
        except asyncio.CancelledError:  # as Engine.IO's: the writer then closes
            raise engineio_exceptions.QueueEmpty() from None
        self.queue.task_done()
        if first is None:
            return []
        packets = [first]
        while True:
            try:
                more = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            self.queue.task_done()
            if more is None:
                self.queue.put_nowait(None)  # for the writer's next poll
                break
            packets.append(more)
        return packets

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Engine.IO's close, which then ends the writer: the writer closes the
        WebSocket, and that ends the read loop. (Engine.IO's read loop ended a closed
        session at the client's next frame or at its own limit; this one waits for
        frames only, and a client that is gone sends none.)"""
        await super().close(wait=wait, abort=abort, reason=reason)
        if self.closed:
            self.queue.put_nowait(None)

    async def _websocket_handler(self, ws: Any) -> None:
        """Engine.IO's handler for a session opened over WebSocket, with the read loop
        described above. A session upgraded from long-polling keeps Engine.IO's."""
        if self.connected:
            await super()._websocket_handler(ws)
            return
        self.connected = self.upgraded = True
        queue: CountingQueue = self.queue
        self._ws: Any = ws
        self._writer: asyncio.Task[None] | None = None
        self._written_out = False
        queue.drainer = self
        if not queue.empty():
            self.drain_soon()
        limit = self.server.max_http_buffer_size
        while True:
            try:
                data = await ws.wait()
            except (Exception, asyncio.CancelledError):
                # As Engine.IO's: a failed or cancelled read (a shutdown past its grace)
                # ends the session, and its writer and disconnect handlers still run.
                break
            if data is None or len(data) > limit:  # closed, or a packet too large
                break
            try:
                await self.receive(engineio_packet.Packet(encoded_packet=data))
            except engineio_exceptions.UnknownPacketError:
                pass
            except engineio_exceptions.SocketIsClosedError:
                break
            except Exception:  # one bad packet must not end the session
                self.server.logger.exception("Unknown receive error")
            # Not held while the next frame is awaited: on an idle socket the last frame
            # is its CONNECT, with the token (0.4 KiB per socket, bench/memory_probe.py).
            data = None
        queue.put_nowait(None)  # ends the writing, closing the WebSocket
        if self._writer is not None:
            await self._writer
        # The queue and the socket refer to each other no more: a closed socket is freed
        # at once, not by a later collection of cycles.
        queue.drainer = None
        self._ws = self._writer = None
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    def drain_soon(self) -> None:
        """A packet is queued: the writer that runs writes it, or a new one starts. An
        idle socket has no writer: Engine.IO's waits on the empty queue for the whole
        session, a task and four suspended coroutines (1.8 KiB per idle socket,
        bench/memory_probe.py)."""
        if self._writer is None and not self._written_out:
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    async def _write_queued(self) -> None:
        """Engine.IO's writer, until the queue is empty: writes what waits in it, and
        on None (the session is over) or a failed write closes the WebSocket; nothing
        is written after that."""
        ws = self._ws
        while not self.queue.empty():
            try:
                packets = await self.poll()
            except engineio_exceptions.QueueEmpty:  # cancelled
                break
            if not packets:  # the session is over
                break
            try:
                for pkt in packets:
                    await ws.send(pkt.encode())
            except Exception:
                break
        else:
            # Let go of the finished task too (0.5 KiB), in this same step: a packet put
            # from now on starts the next writer.
            self._writer = None
            return
        self._written_out = True  # the handler awaits this last writer
        await ws.close()

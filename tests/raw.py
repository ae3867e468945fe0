"""A raw WebSocket speaking Engine.IO by hand, for the socket layer's hostile cases.

python-socketio's client never sends a malformed or binary packet, never lingers
without connecting, never closes mid-handshake; this one does whatever a test writes.
`RawSocket.open` reads the Engine.IO open packet; `frame` sends one WebSocket frame as
is; `closed` reads until the server closes the connection (answering its pings), and
says whether it did within the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

NS = "/messaging"


class RawSocket:
    def __init__(self, ws: ClientConnection, opening: str) -> None:
        self.ws = ws
        self.opening = opening
        self.received: list[str | bytes] = []

    @classmethod
    async def open(cls, base: str, query: str = "") -> RawSocket:
        url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket" + query
        ws = await connect(url, compression=None, max_size=None, open_timeout=10)
        opening = await asyncio.wait_for(ws.recv(), 10)
        assert isinstance(opening, str), opening
        assert opening.startswith("0{"), opening
        return cls(ws, opening)

    async def frame(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def next(self, within: float = 10.0) -> str | bytes:
        """The next packet that is not an Engine.IO ping (pings are answered)."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a caller's
            # cancellation that lands as the frame arrives, and `closed` below, whose
            # own timeout cancels this wait, then answered pings for good.
            async with asyncio.timeout(within):
                data = await self.ws.recv()
            if data == "2":
                await self.ws.send("3")
                continue
            self.received.append(data)
            return data

    async def connect(self, token: str | None, namespace: str = NS) -> str | bytes:
        """CONNECT to `namespace` (with `token` as auth); the server's answer."""
        auth = json.dumps({"token": token}) if token is not None else "{}"
        prefix = "" if namespace == "/" else namespace + ","
        await self.frame("40" + prefix + auth)
        while True:
            answer = await self.next()
            # An event fanned out to the user while the server still runs its connect
            # handler may come before the answer; socket.io-client buffers those too.
            if not (isinstance(answer, str) and answer.startswith("42" + prefix)):
                return answer

    async def call(self, event: str, payload: Any, ack_id: int = 1) -> Any:
        """An event on /messaging with an ack id; the ack's payload."""
        await self.frame(f"42{NS},{ack_id}" + json.dumps([event, payload]))
        while True:
            data = await self.next()
            if isinstance(data, str) and data.startswith(f"43{NS},{ack_id}"):
                return json.loads(data[len(f"43{NS},{ack_id}") :])[0]

    async def closed(self, within: float = 10.0) -> bool:
        """Whether the server closes the connection within `within` seconds."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.next(within)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)

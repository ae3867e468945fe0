"""A small HTTP/1.1 keep-alive client for the generator: JSON in, JSON out.

Cheaper per request than a general client (tens of microseconds), so the generator can
drive 1,000+ requests per second from one process and measure the server, not itself.
Handles Content-Length and chunked bodies, which is all hubbub, uvicorn and Node send.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson


class HttpError(Exception):
    def __init__(self, status: int, body: bytes, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {body[:300].decode(errors='replace')}")
        self.status = status
        self.body = body


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class HttpConnection:
    """One keep-alive connection; one request at a time (use several for concurrency)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        timeout: float = 60.0,
    ) -> Response:
        for attempt in range(2):  # one retry: a keep-alive connection the server closed
            reader, writer = await self._open()
            try:
                return await asyncio.wait_for(
                    self._exchange(reader, writer, method, path, body, token), timeout
                )
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        body: Any,
        token: str | None,
    ) -> Response:
        payload = b"" if body is None else orjson.dumps(body)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + payload)
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif key == b"connection" and value.strip().lower() == b"close":
                close = True
        if chunked:
            parts = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            data = b"".join(parts)
        elif length >= 0:
            data = await reader.readexactly(length)
        else:
            data = await reader.read()
            close = True
        if close:
            self.close()
        return Response(status, data)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class HttpPool:
    """A fixed number of keep-alive connections shared by concurrent callers."""

    def __init__(self, host: str, port: int, size: int = 16) -> None:
        self._all = [HttpConnection(host, port) for _ in range(size)]
        self._idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
        for conn in self._all:
            self._idle.put_nowait(conn)

    async def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Response:
        conn = await self._idle.get()
        try:
            return await conn.request(method, path, body, token)
        finally:
            self._idle.put_nowait(conn)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        response = await self.request(method, path, body, token)
        if response.status not in expect:
            raise HttpError(response.status, response.body, f"{method} {path}")
        return response.json()

    def close(self) -> None:
        for conn in self._all:
            conn.close()

"""Helpers for the SDK's tests: one real `hubbub serve` for them all (`sdk_server`), users
signed up through `hubbub.client.AsyncClient` itself."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubbub.client import AsyncClient
from tests.conftest import Backend
from tests.gw import Server, free_port, serving

PASSWORD = "correct horse battery"
# Generous budgets: these tests send bursts, and register many users from one address.
FAST = {
    "HUBBUB_SEND_RATE_PER_S": "2000",
    "HUBBUB_SEND_BURST": "2000",
    "HUBBUB_SOCKET_EVENT_RATE_PER_S": "5000",
    "HUBBUB_SOCKET_EVENT_BURST": "5000",
    "HUBBUB_PRESENCE_GRACE_S": "0.3",
    "HUBBUB_UNREAD_COALESCE_S": "0.05",
}


async def signed_up(*urls: str, **options: object) -> AsyncClient:
    client = AsyncClient(*urls, **options)  # type: ignore[arg-type]
    name = f"sdk_{secrets.token_hex(4)}"
    await client.register(name, f"{name}@example.com", PASSWORD)
    return client


async def user_named(client: AsyncClient, name: str, what: str) -> uuid.UUID:
    """The id of the user `name`, once it has signed up (`what` starts it meanwhile)."""
    for _ in range(200):
        found = (await client.search_users(name)).users
        if found:
            return found[0].id
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not sign up")


# Access tokens live 10 s (the shortest the settings allow), so that the refresh test
# sees them expire; every other test refreshes along the way without noticing.
ACCESS_TOKEN_TTL_S = 10


@pytest.fixture(scope="session")
async def sdk_server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """One `hubbub serve` for the SDK's tests (started only when one asks for it)."""
    directory: Path = tmp_path_factory.mktemp("sdk")
    env = FAST | {"HUBBUB_ACCESS_TOKEN_TTL_S": str(ACCESS_TOKEN_TTL_S)}
    async with serving(backend, directory, env) as server:
        yield server


class Relay:
    """A TCP relay in front of a node: every connection through it can be cut at once."""

    def __init__(self, target: Server) -> None:
        self.target = target
        self.port = free_port()
        self.links: set[asyncio.StreamWriter] = set()
        self.refusing = False  # while set, new connections are refused (a node unreachable)
        self._server: asyncio.Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target.port)
        except OSError:
            writer.transport.abort()  # the node is down: refused, as it would be
            return
        self.links |= {writer, up_writer}
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )
        self.links -= {writer, up_writer}

    def cut(self) -> int:
        """Abort every connection through the relay; how many there were."""
        cut = len(self.links) // 2
        for writer in list(self.links):
            writer.transport.abort()
        return cut

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()

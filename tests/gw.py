"""Harness for the gateway's end-to-end tests: real `hubbub serve` processes, real clients.

`start_server` runs `python -m hubbub serve` in a subprocess on a free port (with the
gateway's typing and presence timers optionally shortened through their settings).
`Client` is python-socketio's `AsyncClient` on the namespace /messaging that records
every server -> client event it receives, and waits for them with deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import socketio

from tests.conftest import JWT_SECRET, RUN_ID, Backend, create_pg_database, drop_pg_database

NS = "/messaging"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
        # Quiet unless a test asks for more (HUBBUB_LOG_LEVEL in its env).
        full_env |= {"HUBBUB_LOG_LEVEL": "warning"} | self.env | {"HUBBUB_PORT": str(self.port)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [PYTHON, "-m", "hubbub", "serve"],
                cwd=self.log.parent,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


def start_server(
    directory: Path,
    env: dict[str, str],
    *,
    typing_ttl_s: float | None = None,
    presence_grace_s: float | None = None,
) -> Server:
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        "HUBBUB_JWT_SECRET": JWT_SECRET,
        "HUBBUB_DATA_DIR": str(directory / "data"),
        "HUBBUB_ARGON2_TIME_COST": "1",
        "HUBBUB_ARGON2_MEMORY_KIB": "1024",
        "HUBBUB_ARGON2_PARALLELISM": "1",
        # Every test user registers from 127.0.0.1, many per module's server.
        "HUBBUB_BUDGETS": "register_address=6000/1000",
        **env,
    }
    if typing_ttl_s is not None:
        env["HUBBUB_TYPING_TTL_S"] = str(typing_ttl_s)
    if presence_grace_s is not None:
        env["HUBBUB_PRESENCE_GRACE_S"] = str(presence_grace_s)
    port = free_port()
    server = Server(port=port, env=env, log=directory / f"server-{port}.log")
    server.start()
    return server


@contextlib.asynccontextmanager
async def own_database(backend: Backend, directory: Path) -> AsyncIterator[dict[str, str]]:
    """Settings for servers on a database of their own (and Redis, on the PostgreSQL run)."""
    from hubbub.store.migrate import upgrade_to_head

    if not backend.is_postgres:
        yield {"HUBBUB_DATABASE_URL": f"sqlite:///{directory / 'gw.db'}"}
        return
    name = f"hubbub_test_{RUN_ID}_gw_{secrets.token_hex(3)}"
    url = await create_pg_database(name)
    try:
        await upgrade_to_head(url)
        yield {
            "HUBBUB_DATABASE_URL": url,
            "HUBBUB_REDIS_URL": backend.redis_url or "",
            "HUBBUB_REDIS_PREFIX": f"hubbub-test-{RUN_ID}-{secrets.token_hex(4)}:",
        }
    finally:
        await drop_pg_database(name)


@contextlib.asynccontextmanager
async def serving(
    backend: Backend, directory: Path, env: dict[str, str], **timers: float | None
) -> AsyncIterator[Server]:
    """A server on a database of its own (`own_database`) with `env` on top, stopped at
    the end."""
    async with own_database(backend, directory) as database:
        srv = start_server(directory, database | env, **timers)
        try:
            yield srv
        finally:
            srv.stop()


@contextlib.asynccontextmanager
async def cluster(
    backend: Backend, directory: Path, env: dict[str, str]
) -> AsyncIterator[list[Server]]:
    """Servers on a database of their own with `env` on top: two nodes sharing it (and
    Redis) on the PostgreSQL run, one on SQLite; stopped at the end."""
    async with own_database(backend, directory) as database:
        started: list[Server] = []
        try:
            for name in ("n1", "n2") if backend.is_postgres else ("n1",):
                started.append(start_server(directory / name, database | env))
            yield started
        finally:
            for s in started:
                s.stop()


# HTTP ----------------------------------------------------------------------------------


@dataclass
class User:
    id: str
    username: str
    token: str
    refresh_token: str
    password: str = "correct horse battery"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(http: httpx.AsyncClient) -> User:
    username = f"u_{secrets.token_hex(5)}"
    r = await http.post(
        "/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": "correct horse battery",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return User(body["user"]["id"], username, body["token"], body["refreshToken"])


async def login(http: httpx.AsyncClient, user: User) -> User:
    """A second session of the same user."""
    r = await http.post("/auth/login", json={"email": user.username, "password": user.password})
    assert r.status_code == 200, r.text
    body = r.json()
    return User(user.id, user.username, body["token"], body["refreshToken"])


async def group(http: httpx.AsyncClient, owner: User, *members: User) -> str:
    r = await http.post(
        "/conversations",
        headers=owner.headers,
        json={"type": "GROUP", "name": "team", "participantIds": [m.id for m in members]},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["conversation"]["id"])


async def http_send(
    http: httpx.AsyncClient, who: User, cid: str, content: str = "hi", **extra: Any
) -> dict[str, Any]:
    r = await http.post(
        f"/conversations/{cid}/messages", headers=who.headers, json={"content": content, **extra}
    )
    assert r.status_code in (200, 201), r.text
    message: dict[str, Any] = r.json()["message"]
    return message


async def history(http: httpx.AsyncClient, who: User, cid: str) -> list[dict[str, Any]]:
    """Every message of a conversation, oldest first (pages of 100)."""
    out: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if before:
            params["before"] = before
        r = await http.get(f"/conversations/{cid}/messages", headers=who.headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["messages"]
        if not page["hasMore"] or not page["messages"]:
            break
        before = min(page["messages"], key=lambda m: m["seq"])["id"]
    return sorted(out, key=lambda m: m["seq"])


# Socket.IO -----------------------------------------------------------------------------


@dataclass
class Client:
    """A Socket.IO client on /messaging that records what the server sends it."""

    base: str
    # The local address to connect from (on loopback, any of 127.0.0.0/8): a reverse
    # proxy in front of the nodes tells clients apart by it.
    source: str | None = None
    sio: socketio.AsyncClient = field(init=False)
    events: list[tuple[str, Any]] = field(default_factory=list)
    connect_error: Any = None
    disconnected: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        # Made inside a running loop (clients are made by async tests); `close` closes it.
        session = None
        if self.source is not None:
            connector = aiohttp.TCPConnector(local_addr=(self.source, 0))
            session = aiohttp.ClientSession(connector=connector)
        self.sio = socketio.AsyncClient(reconnection=False, http_session=session)
        self.sio.on("*", self._on_any, namespace=NS)
        self.sio.on("connect_error", self._on_connect_error, namespace=NS)
        self.sio.on("disconnect", self._on_disconnect, namespace=NS)

    async def _on_any(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        self._changed.set()

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_error = data
        self._changed.set()

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected = True
        self._changed.set()

    async def connect(
        self,
        *,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        transports: list[str] | None = None,
    ) -> bool:
        try:
            await self.sio.connect(
                self.base,
                namespaces=[NS],
                auth=auth,
                headers=headers or {},
                transports=transports or ["websocket"],
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError:
            await self.close()
            return False
        return True

    async def close(self) -> None:
        eio = self.sio.eio
        if eio.state == "connected" and eio.current_transport == "polling":
            # A graceful disconnect would wait for the pending long-poll (up to the ping
            # interval); close the engine at once, which ends that request too.
            with contextlib.suppress(Exception):
                await eio.disconnect(abort=True)
            task = getattr(eio, "read_loop_task", None)
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 5)
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sio.disconnect(), 5)
        http = getattr(eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    # Receiving -------------------------------------------------------------------------

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait_for(
        self,
        name: str,
        where: Callable[[Any], bool] = lambda _: True,
        *,
        within: float = 10.0,
        count: int = 1,
    ) -> Any:
        """The `count`-th event `name` matching `where` (waiting up to `within` s)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = [d for e, d in self.events if e == name and where(d)]
            if len(found) >= count:
                return found[count - 1]
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {name!r} (x{count}) within {within}s; got {self.events}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_disconnected(self, within: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not self.disconnected:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, "still connected"
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def barrier(self) -> None:
        """A round trip: every event queued for this socket before it has arrived."""
        ack = await self.call("sync", {"conversations": {}})
        assert ack == {"ok": True, "conversations": {}, "removed": []}, ack

    # Sending ---------------------------------------------------------------------------

    async def call(self, event: str, data: Any = None, *, within: float = 10.0) -> Any:
        return await self.sio.call(event, data, namespace=NS, timeout=within)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data, namespace=NS)

    async def send(self, cid: str, content: str = "hi", **extra: Any) -> dict[str, Any]:
        """send_message with an ack; the ack must be a success."""
        ack = await self.call(
            "send_message",
            {
                "conversationId": cid,
                "content": content,
                "optimisticId": extra.pop("optimisticId", uuid.uuid4().hex),
                **extra,
            },
        )
        assert ack["ok"] is True, ack
        message: dict[str, Any] = ack["message"]
        return message


@contextlib.asynccontextmanager
async def clients(base: str) -> AsyncIterator[Callable[..., Any]]:
    """A factory of connected clients, all closed at the end."""
    made: list[Client] = []

    async def connect(
        user: User | None = None, *, source: str | None = None, **kwargs: Any
    ) -> Client:
        c = Client(base, source)
        made.append(c)
        if user is not None and "auth" not in kwargs and "headers" not in kwargs:
            kwargs["auth"] = {"token": user.token, "userId": user.id}
        ok = await c.connect(**kwargs)
        if ok:
            await c.wait_for("connection_success")
        return c

    try:
        yield connect
    finally:
        for c in made:
            await c.close()

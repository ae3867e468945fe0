"""Start and stop the servers under test: hubbub (1 or 2 nodes) and the baselines.

Every server listens on 127.0.0.1 on a free port and gets its own fresh database
(a new PostgreSQL database, dropped afterwards, or a SQLite file in a temporary
directory), so runs never see each other's data.

- `hubbub`: `python -m hubbub serve`, on SQLite (embedded default) or PostgreSQL +
  Redis; two nodes share the database and Redis.
- `seed-node`: `bench/baselines/seed-node` (Node.js + socket.io v4 + pg), the seed's
  design; always PostgreSQL. Its packages are installed with `npm ci` when missing.
- `bare`: `bench/baselines/bare/server.py`, python-socketio with no database.
- `target`: a server someone else started (`--target URL`), measured as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hubbub_bench.http import HttpConnection

PG_ADMIN_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/0"
# Settings for a hubbub the bench starts itself. Password hashing is made cheap because
# the scenarios create thousands of users through the API and measure no login; tokens
# live long enough for a long run; the per-user send limit and the per-socket event
# limit are lifted so that the throughput scenario measures the server's capacity, not
# the policy (both limiters still run on every send).
HUBBUB_BENCH_ENV = {
    "HUBBUB_ARGON2_TIME_COST": "1",
    "HUBBUB_ARGON2_MEMORY_KIB": "1024",
    "HUBBUB_ARGON2_PARALLELISM": "1",
    "HUBBUB_ACCESS_TOKEN_TTL_S": str(24 * 3600),
    "HUBBUB_SEND_RATE_PER_S": "1000000",
    "HUBBUB_SEND_BURST": "1000000",
    "HUBBUB_SOCKET_EVENT_RATE_PER_S": "1000000",
    "HUBBUB_SOCKET_EVENT_BURST": "1000000",
    # Budgets and the sockets-per-user cap out of the way too: the load is the point.
    "HUBBUB_BUDGETS": "*=100000000/1000000",
    "HUBBUB_MAX_SOCKETS_PER_USER": "1000000",
    "HUBBUB_LOG_LEVEL": "warning",
}


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def baselines_dir() -> Path:
    configured = os.environ.get("HUBBUB_BENCH_BASELINES")
    if configured:
        return Path(configured)
    # src/hubbub_bench/servers.py -> the checkout's bench/baselines
    return Path(__file__).resolve().parents[2] / "bench" / "baselines"


@dataclass
class Server:
    """A running server (or a remote target) and what is needed to measure and stop it."""

    kind: str  # hubbub | seed-node | bare | target
    backend: str  # sqlite | postgresql | none | unknown
    nodes: list[tuple[str, int]]
    pids: list[int] = field(default_factory=list)
    database_url: str | None = None  # where seeding writes (history scenario)
    namespace: str = "/messaging"
    notes: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    cleanup_dbs: list[str] = field(default_factory=list)
    workdir: Path | None = None
    pg_admin_url: str = PG_ADMIN_URL_DEFAULT
    # How each node was started (argv, env, cwd, log), so it can be started again.
    spawns: list[tuple[list[str], dict[str, str], Path, Path]] = field(default_factory=list)
    # Set for the run to profile: the measured window of that run is recorded there.
    profile_to: Path | None = None

    @property
    def can_restart(self) -> bool:
        return bool(self.spawns)

    async def restart(self) -> None:
        """Stop every node and start it again on the same data (a fresh process)."""
        await self._terminate()
        self.procs, self.pids = [], []
        for argv, env, cwd, log in self.spawns:
            proc = _spawn(argv, env, cwd, log)
            self.procs.append(proc)
            self.pids.append(proc.pid)
        for (host, port), proc in zip(self.nodes, self.procs, strict=True):
            await wait_healthy(host, port, proc)

    @property
    def label(self) -> str:
        if self.kind == "hubbub":
            n = f", {len(self.nodes)} nodes" if len(self.nodes) > 1 else ""
            return f"hubbub ({'SQLite' if self.backend == 'sqlite' else 'PostgreSQL + Redis'}{n})"
        if self.kind == "seed-node":
            return "seed-node (Node.js socket.io + pg)"
        if self.kind == "bare":
            return "bare (python-socketio, no database)"
        return f"target {self.nodes[0][0]}:{self.nodes[0][1]}"

    def log_tail(self, lines: int = 20) -> str:
        out = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                out.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    async def stop(self) -> None:
        await self._terminate()
        for name in self.cleanup_dbs:
            await drop_database(self.pg_admin_url, name)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def _terminate(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 5)


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _db_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def create_database(admin_url: str, name: str) -> str:
    await _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    return _db_url(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    try:
        await _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:
        print(f"bench: could not drop database {name}: {exc}", file=sys.stderr)


async def wait_healthy(
    host: str, port: int, proc: subprocess.Popen[bytes] | None, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"server on port {port} exited with status {proc.returncode}")
        conn = HttpConnection(host, port)
        try:
            response = await conn.request("GET", "/healthz", timeout=2)
            if response.status == 200:
                return
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            pass
        finally:
            conn.close()
        await asyncio.sleep(0.1)
    raise ServerError(f"server on port {port} did not answer /healthz within {timeout:.0f} s")


def _spawn(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}


async def start_hubbub(
    backend: str,
    nodes: int = 1,
    *,
    pg_admin_url: str = PG_ADMIN_URL_DEFAULT,
    redis_url: str = REDIS_URL_DEFAULT,
    extra_env: dict[str, str] | None = None,
) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix="hubbub-bench-"))
    tag = secrets.token_hex(4)
    env = (
        _clean_env()
        | HUBBUB_BENCH_ENV
        | {
            "HUBBUB_DATA_DIR": str(workdir / "data"),
            "HUBBUB_JWT_SECRET": secrets.token_urlsafe(48),
        }
    )
    server = Server(kind="hubbub", backend=backend, nodes=[], workdir=workdir)
    server.pg_admin_url = pg_admin_url
    if backend == "postgresql":
        name = f"hubbub_bench_{tag}"
        url = await create_database(pg_admin_url, name)
        server.cleanup_dbs.append(name)
        env |= {
            "HUBBUB_DATABASE_URL": url,
            "HUBBUB_REDIS_URL": redis_url,
            "HUBBUB_REDIS_PREFIX": f"hubbub-bench-{tag}:",
        }
        server.database_url = url
    else:
        if nodes != 1:
            raise ServerError("two hubbub nodes need PostgreSQL + Redis (--backend postgresql)")
        server.database_url = f"sqlite:///{workdir / 'data' / 'hubbub.db'}"
    env |= extra_env or {}
    try:
        migrate = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "hubbub", "migrate"],
            cwd=workdir,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if migrate.returncode != 0:
            raise ServerError("hubbub migrate failed: " + migrate.stderr.decode(errors="replace"))
        for i in range(nodes):
            port = free_port()
            log = workdir / f"node{i}.log"
            spawn = (
                [sys.executable, "-m", "hubbub", "serve"],
                env | {"HUBBUB_PORT": str(port)},
                workdir,
                log,
            )
            server.spawns.append(spawn)
            proc = _spawn(*spawn)
            server.procs.append(proc)
            server.pids.append(proc.pid)
            server.logs.append(log)
            server.nodes.append(("127.0.0.1", port))
        for (host, port), proc in zip(server.nodes, server.procs, strict=True):
            await wait_healthy(host, port, proc)
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        await server.stop()
        raise
    server.notes.append(
        "bench-started hubbub: cheap Argon2 (setup only), per-user send limit lifted"
    )
    return server


def ensure_node_modules(directory: Path) -> None:
    if (directory / "node_modules" / "socket.io").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ServerError("the seed-node baseline needs Node.js and npm (npm ci)")
    result = subprocess.run(  # noqa: S603
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=directory,
        capture_output=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError("npm ci failed: " + result.stderr.decode(errors="replace")[-2000:])


async def start_seed_node(*, pg_admin_url: str = PG_ADMIN_URL_DEFAULT) -> Server:
    directory = baselines_dir() / "seed-node"
    node = shutil.which("node")
    if node is None:
        raise ServerError("the seed-node baseline needs Node.js")
    await asyncio.to_thread(ensure_node_modules, directory)
    workdir = Path(tempfile.mkdtemp(prefix="seed-node-bench-"))
    name = f"seednode_bench_{secrets.token_hex(4)}"
    url = await create_database(pg_admin_url, name)
    port = free_port()
    server = Server(
        kind="seed-node",
        backend="postgresql",
        nodes=[("127.0.0.1", port)],
        database_url=url,
        workdir=workdir,
        cleanup_dbs=[name],
        pg_admin_url=pg_admin_url,
    )
    log = workdir / "seed-node.log"
    env = _clean_env() | {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": url,
        "JWT_SECRET": secrets.token_urlsafe(48),
    }
    server.spawns.append(([node, "server.js"], env, directory, log))
    proc = _spawn(*server.spawns[0])
    server.procs.append(proc)
    server.pids.append(proc.pid)
    server.logs.append(log)
    try:
        await wait_healthy("127.0.0.1", port, proc)
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        await server.stop()
        raise
    server.notes.append("seed-node: optimistic ack before a fire-and-forget INSERT (the seed)")
    return server


async def start_bare() -> Server:
    script = baselines_dir() / "bare" / "server.py"
    workdir = Path(tempfile.mkdtemp(prefix="bare-bench-"))
    port = free_port()
    server = Server(kind="bare", backend="none", nodes=[("127.0.0.1", port)], workdir=workdir)
    log = workdir / "bare.log"
    server.spawns.append(
        ([sys.executable, str(script), "--port", str(port)], _clean_env(), workdir, log)
    )
    proc = _spawn(*server.spawns[0])
    server.procs.append(proc)
    server.pids.append(proc.pid)
    server.logs.append(log)
    try:
        await wait_healthy("127.0.0.1", port, proc)
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        await server.stop()
        raise
    return server


def target_server(url: str, server_pid: int | None, database_url: str | None) -> Server:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        raise ServerError("--target must be a loopback address (127.0.0.0/8 or localhost)")
    port = parts.port or 80
    backend = "unknown"
    if database_url:
        backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    return Server(
        kind="target",
        backend=backend,
        nodes=[(host, port)],
        pids=[server_pid] if server_pid else [],
        database_url=database_url,
    )


async def start(
    kind: str, backend: str, nodes: int = 1, *, extra_env: dict[str, str] | None = None
) -> Server:
    if kind == "hubbub":
        return await start_hubbub(backend, nodes, extra_env=extra_env)
    if kind == "seed-node":
        return await start_seed_node()
    if kind == "bare":
        return await start_bare()
    raise ServerError(f"unknown server kind {kind!r}")

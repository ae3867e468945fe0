"""The generator's worker processes, and the meter that reads everyone's CPU."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubbub_bench.procstat import (
    CpuSnapshot,
    database_pids,
    machine_busy_seconds,
    postmaster_pid,
)
from hubbub_bench.servers import Server, ServerError
from hubbub_bench.worker import worker_main


class Fleet:
    """N worker processes (spawned, so each has its own interpreter and event loop)."""

    def __init__(self, workers: int, namespace: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        for i in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, i, namespace), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    @property
    def size(self) -> int:
        return len(self.conns)

    @property
    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.procs]

    async def _recv(self, conn: Any) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(conn.recv)
        if "error" in result:
            raise RuntimeError(f"worker: {result['error']}")
        return result

    async def all(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for conn, command in zip(self.conns, commands, strict=True):
            conn.send(command)
        return list(await asyncio.gather(*(self._recv(c) for c in self.conns)))

    async def each(self, **command: Any) -> list[dict[str, Any]]:
        return await self.all([dict(command) for _ in self.conns])

    async def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send({"op": "exit"})
        deadline = time.monotonic() + 30
        for proc in self.procs:
            await asyncio.to_thread(proc.join, max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                await asyncio.to_thread(proc.join, 5)
        for conn in self.conns:
            conn.close()


@dataclass
class Reading:
    at: float
    server: CpuSnapshot
    db: CpuSnapshot
    generator: CpuSnapshot
    machine_busy: float
    machine_total: float


class Meter:
    """CPU seconds of the server, its database (PostgreSQL and Redis processes), and the
    generator (workers and this orchestrator) between two readings, from /proc. The
    database's count includes the backends opened and closed in between: a storm opens
    connections, and counting only the backends present at both readings showed less than
    half of PostgreSQL's CPU (a storm of 2,000 on the same code: 31 % of a core counted
    that way, 132 % with every backend counted)."""

    def __init__(self, server: Server, fleet: Fleet) -> None:
        self.server = server
        self.fleet = fleet
        database = None
        if server.database_url and server.backend == "postgresql":
            database = server.database_url.rsplit("/", 1)[-1].split("?", 1)[0]
        self.database = database
        self.profiler: subprocess.Popen[bytes] | None = None

    def read(self) -> Reading:
        """A reading; the first and second readings of a run also start and stop the
        profiler when the server asked for one, so it covers the measured window only
        (not the setup or the clients' handshakes)."""
        if self.profiler is not None:
            reading = self._read()
            stop_profiler(self.profiler)
            self.profiler = None
            self.server.profile_to = None
            return reading
        if self.server.profile_to is not None and self.server.pids:
            self.profiler = start_profiler(self.server.pids[0], self.server.profile_to)
        return self._read()

    def _read(self) -> Reading:
        busy, total = machine_busy_seconds()
        return Reading(
            at=time.monotonic(),
            server=CpuSnapshot.take(self.server.pids),
            db=CpuSnapshot.take(
                database_pids(self.database) if self.database else [],
                parent=postmaster_pid() if self.database else None,
            ),
            generator=CpuSnapshot.take([*self.fleet.pids, os.getpid()]),
            machine_busy=busy,
            machine_total=total,
        )

    @staticmethod
    def between(a: Reading, b: Reading) -> dict[str, float]:
        wall = max(b.at - a.at, 1e-9)
        cores = os.cpu_count() or 1
        machine_wall = max(b.machine_total - a.machine_total, 1e-9)
        return {
            "wall_s": wall,
            "server_cpu_s": b.server.since(a.server),
            "db_cpu_s": b.db.since(a.db),
            "generator_cpu_s": b.generator.since(a.generator),
            "machine_busy_pct": 100 * (b.machine_busy - a.machine_busy) / machine_wall,
            "cores": float(cores),
        }


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    exe = str(py_spy) if py_spy.exists() else "py-spy"
    argv = [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
    try:
        return subprocess.Popen(  # noqa: S603
            [*argv, "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise ServerError("--profile needs py-spy (pip install 'hubbub[bench]')") from exc


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

"""A generator worker process: holds a slice of the clients and runs phases on command.

The orchestrator talks to each worker over a `multiprocessing` pipe: it hands over
clients (token, user id, node, conversations), then asks for phases (connect, send,
storm, HTTP load; `phases`, `http_load`) that all workers start at one CLOCK_MONOTONIC
instant (the clock is system-wide, so timestamps taken in one process are comparable
in another). Each phase answers with raw samples (milliseconds, in `array('d')`) and
counters.
"""

from __future__ import annotations

import asyncio
import os
import resource
from multiprocessing.connection import Connection
from typing import Any

from hubbub_bench.http_load import http_load
from hubbub_bench.phases import ClientSpec, Worker
from hubbub_bench.procstat import cpu_seconds


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _serve(conn: Connection, index: int, namespace: str) -> None:
    loop = asyncio.get_running_loop()
    worker = Worker(index, namespace)
    while True:
        command: dict[str, Any] = await loop.run_in_executor(None, conn.recv)
        op = command.pop("op")
        cpu0 = cpu_seconds(os.getpid()) or 0.0
        result: dict[str, Any]
        if op == "exit":
            await worker.close_all()
            conn.send({"ok": True})
            return
        if op == "clients":
            worker.specs = [ClientSpec(**spec) for spec in command["clients"]]
            result = {"clients": len(worker.specs)}
        elif op == "connect":
            result = await worker.connect_all(**command)
        elif op == "close":
            result = await worker.close_all()
        elif op == "fanout":
            result = await worker.fanout(**command)
        elif op == "throughput":
            result = await worker.throughput(**command)
        elif op == "storm":
            result = await worker.storm(**command)
        elif op == "http":
            result = await http_load(**command)
        else:
            result = {"error": f"unknown op {op}"}
        result["cpu_s"] = (cpu_seconds(os.getpid()) or 0.0) - cpu0
        conn.send(result)


def worker_main(conn: Connection, index: int, namespace: str) -> None:
    """Entry point of a worker process (spawned by the orchestrator)."""
    raise_fd_limit()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(_serve(conn, index, namespace))
    else:
        uvloop.run(_serve(conn, index, namespace))

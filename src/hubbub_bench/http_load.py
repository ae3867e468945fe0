"""The HTTP phase of a worker: open-loop GETs over a few keep-alive connections."""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import Counter
from typing import Any

from hubbub_bench.clock import NS_PER_MS, sleep_until
from hubbub_bench.http import HttpPool


async def http_load(
    requests: list[tuple[str, str]],
    rate: float,
    start_at: int,
    warmup: float,
    duration: float,
    connections: int,
    host: str,
    port: int,
) -> dict[str, Any]:
    """Open loop GETs (path, token) at `rate`/s over `connections` keep-alive sockets.

    Latency runs from the scheduled instant, so time spent waiting for a free
    connection counts (a server that falls behind shows it).
    """
    pool = HttpPool(host, port, connections)
    measure_from = start_at + int(warmup * 1e9)
    end = measure_from + int(duration * 1e9)
    lat = array("d")
    lag = array("d")
    statuses: Counter[int] = Counter()
    pending: set[asyncio.Task[None]] = set()

    async def one(path: str, token: str, due: int) -> None:
        try:
            response = await pool.request("GET", path, token=token)
            statuses[response.status] += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            statuses[0] += 1
            return
        if due >= measure_from:
            lat.append((time.monotonic_ns() - due) / NS_PER_MS)

    interval = 1e9 / rate
    k = 0
    await sleep_until(start_at)
    while True:
        due = start_at + int(k * interval)
        if due >= end:
            break
        now = time.monotonic_ns()
        if due > now:
            await asyncio.sleep((due - now) / 1e9)
            continue
        path, token = requests[k % len(requests)]
        task = asyncio.create_task(one(path, token, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if due >= measure_from:
            lag.append((now - due) / NS_PER_MS)
        k += 1
    if pending:
        await asyncio.wait(pending, timeout=60)
    pool.close()
    return {"latency_ms": lat, "lag_ms": lag, "statuses": dict(statuses), "sent_total": k}

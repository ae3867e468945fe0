"""What every scenario shares: its context, its base class, the groups most of them use,
starting phases on all workers at once, merging what the workers report, and saying
what limited a run.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hubbub_bench.fleet import Fleet
from hubbub_bench.http import HttpPool
from hubbub_bench.procstat import memory_kib
from hubbub_bench.results import Figure, RunResult, Section
from hubbub_bench.servers import Server
from hubbub_bench.setup import User, create_groups, group_layout, register_users

START_DELAY_NS = 1_000_000_000  # phases start 1 s after the command, all workers at once
GENERATOR_BUSY = 0.85  # of its cores: above this the generator may be what limited a figure
LAG_LIMIT_MS = 5.0  # p99 lateness of the send schedule above which the generator lagged


@dataclass
class Context:
    params: dict[str, Any]
    fleet: Fleet
    full_scale: bool

    def p(self, name: str) -> Any:
        return self.params[name]


class NotSupported(Exception):
    """The server does not implement what the scenario needs (a baseline's subset)."""


def http_pool(server: Server, size: int = 16) -> HttpPool:
    host, port = server.nodes[0]
    return HttpPool(host, port, size)


def split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts)]


def merged(results: list[dict[str, Any]], key: str) -> array[float]:
    out = array("d")
    for r in results:
        out.extend(r.get(key, array("d")))
    return out


def counted(results: list[dict[str, Any]], key: str) -> Counter[str]:
    total: Counter[str] = Counter()
    for r in results:
        total.update(r.get(key, {}))
    return total


def specs_for(
    server: Server,
    users: list[User],
    send_to: dict[int, str] | None = None,
    fanout: dict[int, int] | None = None,
    last_seq: int = 0,
    by_group: int = 0,
) -> list[dict[str, Any]]:
    """Each client's part: its user, the node it connects to (in turn; with `by_group`,
    the group size, every member of a group of consecutive users on the same node)."""
    specs = []
    for i, user in enumerate(users):
        host, port = server.nodes[(i // by_group if by_group else i) % len(server.nodes)]
        specs.append(
            {
                "user_id": user.id,
                "token": user.token,
                "host": host,
                "port": port,
                "send_to": (send_to or {}).get(i),
                "conversations": {c: last_seq for c in user.conversations},
            }
        )
    return specs


async def hand_out(fleet: Fleet, specs: list[dict[str, Any]]) -> None:
    await fleet.all([{"op": "clients", "clients": part} for part in split(specs, fleet.size)])


async def connect_all(
    fleet: Fleet, total: int, concurrency: int, spread: int, timeout: float = 60.0
) -> dict[str, Any]:
    start_at = time.monotonic_ns() + START_DELAY_NS // 4
    results = await fleet.each(
        op="connect",
        concurrency=max(1, concurrency // fleet.size),
        start_at=start_at,
        spread_sources=spread,
        timeout=timeout,
    )
    connected = sum(r["connected"] for r in results)
    refused = counted(results, "refused")
    elapsed = max(r["elapsed_s"] for r in results)
    if connected < total:
        print(f"bench: {total - connected} of {total} clients did not connect: {dict(refused)}")
    return {
        "connected": connected,
        "refused": refused,
        "elapsed_s": elapsed,
        "handshake_ms": merged(results, "handshake_ms"),
        "cpu_s": sum(r["cpu_s"] for r in results),
    }


def limits(
    usage: dict[str, float], fleet: Fleet, lag_p99: float | None, server: Server
) -> list[str]:
    """Say what limited a run: the generator, the server, or the whole machine."""
    notes = []
    gen = usage["generator_cpu_s"] / usage["wall_s"]
    if gen >= GENERATOR_BUSY * fleet.size:
        notes.append(
            f"GENERATOR-BOUND: generator used {100 * gen:.0f}% of its {fleet.size} core(s)"
        )
    if lag_p99 is not None and lag_p99 > LAG_LIMIT_MS:
        notes.append(f"GENERATOR LAG: p99 send-schedule lateness {lag_p99:.1f} ms")
    if server.pids:
        per_node = usage["server_cpu_s"] / usage["wall_s"] / len(server.pids)
        if per_node >= 0.9:
            notes.append(f"server CPU-bound ({100 * per_node:.0f}% of a core per node)")
    if usage["machine_busy_pct"] >= 95:
        notes.append(f"machine saturated ({usage['machine_busy_pct']:.0f}% of all cores busy)")
    return notes


def cpu_figures(
    usage: dict[str, float], server: Server, deliveries: float | None
) -> dict[str, float]:
    wall = usage["wall_s"]
    out = {
        "server_cpu_pct": 100 * usage["server_cpu_s"] / wall if server.pids else math.nan,
        "db_cpu_pct": 100 * usage["db_cpu_s"] / wall if usage["db_cpu_s"] else math.nan,
        "generator_cpu_pct": 100 * usage["generator_cpu_s"] / wall,
        "machine_busy_pct": usage["machine_busy_pct"],
    }
    if deliveries:
        out["server_us_per_delivery"] = (
            1e6 * usage["server_cpu_s"] / deliveries if server.pids else math.nan
        )
    peak = max((memory_kib(pid).get("VmHWM", 0) for pid in server.pids), default=0)
    out["server_peak_mib"] = peak / 1024 if peak else math.nan
    return out


CPU_FIGURES = [
    Figure("server_cpu_pct", "server CPU", "% of a core"),
    Figure("db_cpu_pct", "database CPU (its PostgreSQL backends, WAL, Redis)", "% of a core"),
    Figure("generator_cpu_pct", "generator CPU", "% of a core"),
    Figure("machine_busy_pct", "machine busy", "% of all cores"),
    Figure("server_peak_mib", "server peak memory (VmHWM)", "MiB"),
]


def at_most(limit: float) -> Callable[[float], bool]:
    return lambda v: v <= limit


def at_least(limit: float) -> Callable[[float], bool]:
    return lambda v: v >= limit


class Scenario:
    name = ""
    needs_gateway = True
    supports: tuple[str, ...] = ("hubbub", "seed-node", "bare", "target")

    def sections(self, ctx: Context) -> list[Section]:
        raise NotImplementedError

    async def setup(self, ctx: Context, server: Server) -> Any:
        raise NotImplementedError

    async def run(self, ctx: Context, server: Server, state: Any, section: Section) -> RunResult:
        raise NotImplementedError


@dataclass
class GroupState:
    users: list[User]
    send_to: dict[int, str]
    fanout: dict[int, int]


async def make_groups(
    server: Server, users_count: int, group_size: int, rounds: int = 1
) -> GroupState:
    pool = http_pool(server)
    try:
        t0 = time.monotonic()
        users = await register_users(pool, users_count)
        layout = group_layout(users_count, group_size, rounds)
        conversation_ids = await create_groups(
            pool, users, layout, in_steps=server.kind in ("hubbub", "target")
        )
        print(
            f"bench: {server.label}: {users_count} users, {len(layout)} groups "
            f"in {time.monotonic() - t0:.1f} s"
        )
    finally:
        pool.close()
    first_round = len(group_layout(users_count, group_size, 1))
    send_to: dict[int, str] = {}
    fanout: dict[int, int] = {}
    for gi in range(first_round):
        for member in layout[gi]:
            send_to[member] = conversation_ids[gi]
            fanout[member] = len(layout[gi]) - 1
    return GroupState(users, send_to, fanout)

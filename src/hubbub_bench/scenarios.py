"""The scenarios of QUALITY.md, Performance: setup once per server, then measured runs.

A run is one measurement window on a server that has been set up once; each run
connects its clients afresh and closes them after. Runs against several servers
(`--vs`) alternate, so slow drift of the machine hits all of them alike.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import urllib.request
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hubbub_bench import seeding
from hubbub_bench.fleet import Fleet, Meter
from hubbub_bench.http import HttpPool
from hubbub_bench.procstat import memory_kib, summarize
from hubbub_bench.servers import Server
from hubbub_bench.setup import (
    User,
    create_group,
    create_groups,
    group_layout,
    post_messages,
    register_users,
)

START_DELAY_NS = 1_000_000_000  # phases start 1 s after the command, all workers at once
GENERATOR_BUSY = 0.85  # of its cores: above this the generator may be what limited a figure
LAG_LIMIT_MS = 5.0  # p99 lateness of the send schedule above which the generator lagged


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    budget: str = ""
    check: Callable[[float], bool] | None = None
    digits: int = 1


@dataclass
class RunResult:
    figures: dict[str, float]
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure]
    budget_scale: bool = False  # whether this run is at the scale the budgets are set for


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
) -> list[dict[str, Any]]:
    specs = []
    for i, user in enumerate(users):
        host, port = server.nodes[i % len(server.nodes)]
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


def _metric_totals(host: str, port: int, name: str) -> tuple[float, float]:
    """(sum, count) of a histogram on one hubbub node's /metrics."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith(name + "_sum "):
            total = float(line.split()[1])
        elif line.startswith(name + "_count "):
            count = float(line.split()[1])
    return total, count


async def batch_totals(server: Server) -> dict[str, tuple[float, float]] | None:
    """(sum, count) of the group commit's histograms so far, over a bench-started
    hubbub's nodes: sends per commit and the time of a commit."""
    if server.kind != "hubbub":
        return None
    totals: dict[str, tuple[float, float]] = {}
    for name in ("hubbub_send_batch_size", "hubbub_send_batch_seconds"):
        total = count = 0.0
        for host, port in server.nodes:
            try:
                s, c = await asyncio.to_thread(_metric_totals, host, port, name)
            except OSError:
                return None
            total, count = total + s, count + c
        totals[name] = (total, count)
    return totals


def batch_figures(
    before: dict[str, tuple[float, float]] | None, after: dict[str, tuple[float, float]] | None
) -> dict[str, float]:
    """Mean sends per commit and mean commit time (ms) in the window."""
    out = {"sends_per_commit": math.nan, "commit_ms": math.nan}
    if before is None or after is None:
        return out
    for key, name, scale in (
        ("sends_per_commit", "hubbub_send_batch_size", 1.0),
        ("commit_ms", "hubbub_send_batch_seconds", 1000.0),
    ):
        (s0, c0), (s1, c1) = before[name], after[name]
        if c1 > c0:
            out[key] = scale * (s1 - s0) / (c1 - c0)
    return out


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


# Scenarios -----------------------------------------------------------------------------


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


class Fanout(Scenario):
    name = "fanout"

    def sections(self, ctx: Context) -> list[Section]:
        out = []
        for rate in ctx.p("rates"):
            full = ctx.full_scale and rate == 1000
            out.append(
                Section(
                    key=f"rate={rate:g}",
                    title=f"fanout: {ctx.p('clients')} clients in groups of "
                    f"{ctx.p('group_size')}, {rate:g} sends/s",
                    budget_scale=full,
                    figures=[
                        Figure("p50_ms", "send->receive p50", "ms", "<= 3 ms", at_most(3), 2),
                        Figure("p95_ms", "send->receive p95", "ms", digits=2),
                        Figure("p99_ms", "send->receive p99", "ms", "<= 15 ms", at_most(15), 2),
                        Figure("max_ms", "send->receive max", "ms", digits=1),
                        Figure("ack_p50_ms", "send->message_sent p50", "ms", digits=2),
                        Figure("ack_p99_ms", "send->message_sent p99", "ms", digits=2),
                        Figure(
                            "deliveries_per_s",
                            "deliveries/s (new_message + message_sent)",
                            "/s",
                            digits=0,
                        ),
                        Figure("lost", "deliveries missing after drain", "", digits=0),
                        Figure("errors", "send errors", "", digits=0),
                        Figure(
                            "server_us_per_delivery",
                            "server CPU per delivery",
                            "µs",
                            "~20 µs (50,000/s max)",
                            at_most(20),
                            1,
                        ),
                        Figure("lag_p99_ms", "generator send lag p99", "ms", digits=2),
                        Figure("sends_per_commit", "sends per commit (group commit)", ""),
                        Figure("commit_ms", "group commit time, mean", "ms", digits=2),
                        *CPU_FIGURES,
                    ],
                )
            )
        return out

    async def setup(self, ctx: Context, server: Server) -> GroupState:
        return await make_groups(server, ctx.p("clients"), ctx.p("group_size"))

    async def run(
        self, ctx: Context, server: Server, state: GroupState, section: Section
    ) -> RunResult:
        rate = float(section.key.split("=", 1)[1])
        fleet = ctx.fleet
        specs = specs_for(server, state.users, state.send_to)
        for i, spec in enumerate(specs):
            spec["fanout"] = state.fanout.get(i, 0)
        await hand_out(fleet, [{k: v for k, v in s.items() if k != "fanout"} for s in specs])
        conn = await connect_all(fleet, len(specs), ctx.p("connect_concurrency"), ctx.p("spread"))
        await asyncio.sleep(ctx.p("settle"))
        meter = Meter(server, fleet)
        start_at = time.monotonic_ns() + START_DELAY_NS
        warmup, duration = ctx.p("warmup"), ctx.p("duration")
        task = asyncio.ensure_future(
            fleet.each(
                op="fanout",
                rate=rate / fleet.size,
                start_at=start_at,
                warmup=warmup,
                duration=duration,
                drain=ctx.p("drain"),
                pad=ctx.p("message_bytes"),
            )
        )
        measure_from = start_at / 1e9 + warmup
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        before = meter.read()
        batches_before = await batch_totals(server)
        await asyncio.sleep(max(0.0, measure_from + duration - time.monotonic()))
        after = meter.read()
        batches_after = await batch_totals(server)
        results = await task
        await fleet.each(op="close")
        usage = Meter.between(before, after)
        deliveries = merged(results, "deliveries_ms")
        acks = merged(results, "acks_ms")
        lag = merged(results, "lag_ms")
        sent = sum(r["sent"] for r in results)
        # Every send should reach the other members of its group: the expected count is
        # derived from the group sizes of the senders in round-robin order.
        mean_fanout = sum(state.fanout.values()) / len(state.fanout) if state.fanout else 0.0
        expected = sent * mean_fanout
        delivered = len(deliveries) + len(acks)
        figures = summarize(deliveries)
        figures = {k + "_ms": v for k, v in figures.items()}
        ack_summary = summarize(acks)
        figures |= {
            "ack_p50_ms": ack_summary["p50"],
            "ack_p99_ms": ack_summary["p99"],
            "deliveries_per_s": delivered / duration,
            "lost": max(0.0, expected - len(deliveries)) + max(0, sent - len(acks)),
            "errors": float(sum(counted(results, "errors").values())),
            "lag_p99_ms": summarize(lag)["p99"],
            "sent_per_s": sent / duration,
            "connected": float(conn["connected"]),
            **batch_figures(batches_before, batches_after),
        }
        figures |= cpu_figures(usage, server, delivered)
        notes = limits(usage, fleet, figures["lag_p99_ms"], server)
        errors = counted(results, "errors")
        if errors:
            notes.append(f"errors: {dict(errors)}")
        if conn["connected"] < len(specs):
            notes.append(f"only {conn['connected']} of {len(specs)} clients connected")
        return RunResult(
            figures,
            notes,
            raw={"usage": usage, "deliveries_ms": list(deliveries), "acks_ms": list(acks)},
        )


@dataclass
class ThroughputState:
    users: list[User]
    send_to: dict[int, str]


class Throughput(Scenario):
    name = "throughput"

    def sections(self, ctx: Context) -> list[Section]:
        return [
            Section(
                key="throughput",
                title=f"throughput: {ctx.p('senders')} senders, {ctx.p('window')} "
                "sends in flight each (closed loop)",
                budget_scale=ctx.full_scale,
                figures=[
                    Figure(
                        "acked_per_s",
                        "sends acknowledged/s",
                        "/s",
                        ">= 10,000/s",
                        at_least(10_000),
                        0,
                    ),
                    Figure("ack_p50_ms", "ack latency p50", "ms", digits=2),
                    Figure("ack_p99_ms", "ack latency p99", "ms", digits=2),
                    Figure("ack_max_ms", "ack latency max", "ms", digits=1),
                    Figure("errors", "send errors", "", digits=0),
                    Figure("server_us_per_send", "server CPU per acknowledged send", "µs"),
                    Figure("sends_per_commit", "sends per commit (group commit)", ""),
                    Figure("commit_ms", "group commit time, mean", "ms", digits=2),
                    *CPU_FIGURES,
                ],
            )
        ]

    async def setup(self, ctx: Context, server: Server) -> ThroughputState:
        # Each sender has a group with one other member who never connects: the run
        # measures storing and acknowledging, with no fan-out.
        pool = http_pool(server)
        try:
            users = await register_users(pool, ctx.p("senders") + 1)
            sink, senders = users[0], users[1:]
            send_to: dict[int, str] = {}

            async def one(i: int) -> None:
                send_to[i] = await create_group(pool, senders[i], [sink], f"throughput {i}")

            from hubbub_bench.setup import bounded

            await bounded(len(senders), 8, one)
        finally:
            pool.close()
        for user in senders:
            user.conversations = user.conversations[:1]
        return ThroughputState(senders, send_to)

    async def run(
        self, ctx: Context, server: Server, state: ThroughputState, section: Section
    ) -> RunResult:
        fleet = ctx.fleet
        await hand_out(fleet, specs_for(server, state.users, state.send_to))
        await connect_all(fleet, len(state.users), ctx.p("connect_concurrency"), ctx.p("spread"))
        await asyncio.sleep(ctx.p("settle"))
        meter = Meter(server, fleet)
        start_at = time.monotonic_ns() + START_DELAY_NS
        warmup, duration = ctx.p("warmup"), ctx.p("duration")
        task = asyncio.ensure_future(
            fleet.each(
                op="throughput",
                window=ctx.p("window"),
                start_at=start_at,
                warmup=warmup,
                duration=duration,
                drain=ctx.p("drain"),
                pad=ctx.p("message_bytes"),
            )
        )
        measure_from = start_at / 1e9 + warmup
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        before = meter.read()
        batches_before = await batch_totals(server)
        await asyncio.sleep(max(0.0, measure_from + duration - time.monotonic()))
        after = meter.read()
        batches_after = await batch_totals(server)
        results = await task
        await fleet.each(op="close")
        usage = Meter.between(before, after)
        acks = merged(results, "acks_ms")
        summary = summarize(acks)
        figures = {
            "acked_per_s": len(acks) / duration,
            "ack_p50_ms": summary["p50"],
            "ack_p99_ms": summary["p99"],
            "ack_max_ms": summary["max"],
            "errors": float(sum(counted(results, "errors").values())),
            "server_us_per_send": (
                1e6 * usage["server_cpu_s"] / len(acks) if acks and server.pids else math.nan
            ),
            **batch_figures(batches_before, batches_after),
        }
        figures |= cpu_figures(usage, server, None)
        notes = limits(usage, fleet, None, server)
        errors = counted(results, "errors")
        if errors:
            notes.append(f"errors: {dict(errors)}")
        return RunResult(figures, notes, raw={"usage": usage, "acks_ms": list(acks)})


class Connections(Scenario):
    name = "connections"

    def sections(self, ctx: Context) -> list[Section]:
        return [
            Section(
                key="connections",
                title=f"connections: {ctx.p('clients')} idle sockets "
                f"({ctx.p('user_conversations')} conversation(s) each), "
                f"idle {ctx.p('idle')} s",
                budget_scale=ctx.full_scale,
                figures=[
                    Figure("connected", "sockets held", "", ">= 10,000", at_least(10_000), 0),
                    Figure("refused", "refused", "", digits=0),
                    Figure(
                        "handshakes_per_s",
                        "handshakes/s (connect phase)",
                        "/s",
                        ">= 1,000/s",
                        at_least(1000),
                        0,
                    ),
                    Figure("handshake_p50_ms", "handshake p50", "ms", digits=1),
                    Figure("handshake_p99_ms", "handshake p99", "ms", digits=1),
                    Figure(
                        "kib_per_socket",
                        "server memory per socket",
                        "KiB",
                        "<= 25 KiB",
                        at_most(25),
                        1,
                    ),
                    Figure(
                        "idle_cpu_pct",
                        "server CPU while idle",
                        "% of a core",
                        "< 3 %",
                        at_most(3),
                        2,
                    ),
                    Figure("server_peak_mib", "server peak memory (VmHWM)", "MiB"),
                ],
            )
        ]

    async def setup(self, ctx: Context, server: Server) -> GroupState:
        return await make_groups(
            server, ctx.p("clients"), ctx.p("group_size"), ctx.p("user_conversations")
        )

    async def run(
        self, ctx: Context, server: Server, state: GroupState, section: Section
    ) -> RunResult:
        fleet = ctx.fleet
        await restart_for_memory(ctx, server, state)
        await hand_out(fleet, specs_for(server, state.users))
        await asyncio.sleep(ctx.p("settle"))
        rss0 = sum(memory_kib(pid).get("VmRSS", 0) for pid in server.pids)
        conn = await connect_all(
            fleet, len(state.users), ctx.p("connect_concurrency"), ctx.p("spread")
        )
        await asyncio.sleep(max(ctx.p("settle"), 2.0))
        rss1 = sum(memory_kib(pid).get("VmRSS", 0) for pid in server.pids)
        meter = Meter(server, fleet)
        before = meter.read()
        await asyncio.sleep(ctx.p("idle"))
        after = meter.read()
        usage = Meter.between(before, after)
        results = await fleet.each(op="close")
        del results
        summary = summarize(conn["handshake_ms"])
        connected = conn["connected"]
        figures = {
            "connected": float(connected),
            "refused": float(sum(conn["refused"].values())),
            "handshakes_per_s": connected / conn["elapsed_s"] if conn["elapsed_s"] else 0.0,
            "handshake_p50_ms": summary["p50"],
            "handshake_p99_ms": summary["p99"],
            "kib_per_socket": (rss1 - rss0) / connected if connected and server.pids else math.nan,
            "idle_cpu_pct": 100 * usage["server_cpu_s"] / usage["wall_s"]
            if server.pids
            else math.nan,
            "server_rss_mib": rss1 / 1024 if server.pids else math.nan,
        }
        peak = max((memory_kib(pid).get("VmHWM", 0) for pid in server.pids), default=0)
        figures["server_peak_mib"] = peak / 1024 if peak else math.nan
        notes = []
        if conn["refused"]:
            notes.append(f"refused: {dict(conn['refused'])}")
        notes.append(
            f"connect phase: {connected} handshakes in {conn['elapsed_s']:.2f} s with "
            f"{ctx.p('connect_concurrency')} in flight; generator {conn['cpu_s']:.2f} CPU-s"
        )
        return RunResult(figures, notes, raw={"handshake_ms": list(conn["handshake_ms"])})


async def restart_for_memory(ctx: Context, server: Server, state: GroupState) -> None:
    """Memory per socket needs a fresh process: an allocator keeps what it once held."""
    if not server.can_restart:
        return
    await server.restart()
    if server.kind == "bare":  # it keeps its users in memory: make them again
        fresh = await make_groups(
            server, len(state.users), ctx.p("group_size"), ctx.p("user_conversations")
        )
        state.users, state.send_to, state.fanout = fresh.users, fresh.send_to, fresh.fanout


class Storm(Scenario):
    name = "storm"

    def sections(self, ctx: Context) -> list[Section]:
        return [
            Section(
                key="storm",
                title=f"storm: {ctx.p('clients')} clients reconnect at once "
                f"(handshake + sync of {ctx.p('user_conversations')} conversation(s))",
                budget_scale=ctx.full_scale,
                figures=[
                    Figure("all_back_s", "time until all back", "s", "<= 15 s", at_most(15), 2),
                    Figure("back_p50_ms", "back p50", "ms", digits=0),
                    Figure("back_p99_ms", "back p99", "ms", digits=0),
                    Figure("refused", "refused attempts", "", "0", at_most(0), 0),
                    Figure("failed", "clients never back", "", "0", at_most(0), 0),
                    Figure(
                        "handshakes_per_s",
                        "reconnects/s (all / time until all back)",
                        "/s",
                        ">= 1,000/s",
                        at_least(1000),
                        0,
                    ),
                    Figure("sync_changes", "changes returned by sync", "", digits=0),
                    *CPU_FIGURES,
                ],
            )
        ]

    async def setup(self, ctx: Context, server: Server) -> GroupState:
        state = await make_groups(
            server, ctx.p("clients"), ctx.p("group_size"), ctx.p("user_conversations")
        )
        missed = ctx.p("storm_messages")
        if missed and server.kind in ("hubbub", "target"):
            # Messages the reconnecting clients have not seen, for sync to return.
            pool = http_pool(server, 8)
            try:
                by_conv: dict[str, User] = {}
                for user in state.users:
                    for c in user.conversations:
                        by_conv.setdefault(c, user)
                from hubbub_bench.setup import bounded

                items = list(by_conv.items())
                await bounded(
                    len(items), 8, lambda i: post_messages(pool, items[i][1], items[i][0], missed)
                )
            finally:
                pool.close()
        return state

    async def run(
        self, ctx: Context, server: Server, state: GroupState, section: Section
    ) -> RunResult:
        fleet = ctx.fleet
        sync = server.kind != "seed-node"  # the seed has no resume
        await hand_out(fleet, specs_for(server, state.users))
        await connect_all(fleet, len(state.users), ctx.p("connect_concurrency"), ctx.p("spread"))
        await asyncio.sleep(ctx.p("settle"))
        await fleet.each(op="close")
        await asyncio.sleep(1.0)
        meter = Meter(server, fleet)
        start_at = time.monotonic_ns() + START_DELAY_NS
        task = asyncio.ensure_future(
            fleet.each(
                op="storm",
                start_at=start_at,
                sync=sync,
                retries=ctx.p("retries"),
                timeout=ctx.p("storm_timeout"),
                spread_sources=ctx.p("spread"),
            )
        )
        await asyncio.sleep(max(0.0, start_at / 1e9 - time.monotonic()))
        before = meter.read()
        results = await task
        after = meter.read()
        await fleet.each(op="close")
        usage = Meter.between(before, after)
        back = merged(results, "back_ms")
        summary = summarize(back)
        total = len(state.users)
        all_back_s = summary["max"] / 1000 if len(back) == total else math.nan
        failures = counted(results, "failures")
        figures = {
            "all_back_s": all_back_s,
            "back_p50_ms": summary["p50"],
            "back_p99_ms": summary["p99"],
            "refused": float(sum(r["refused_attempts"] for r in results)),
            "failed": float(total - len(back)),
            "handshakes_per_s": total / all_back_s if all_back_s and all_back_s > 0 else math.nan,
            "sync_changes": float(sum(r["sync_changes"] for r in results)),
        }
        figures |= cpu_figures(usage, server, None)
        notes = limits(usage, fleet, None, server)
        if failures:
            notes.append(f"failed attempts: {dict(failures)}")
        if not sync:
            notes.append("handshake only: the seed's design has no sync/resume")
        return RunResult(figures, notes, raw={"back_ms": list(back)})


@dataclass
class HttpState:
    requests: list[tuple[str, str]]
    info: dict[str, Any]
    # Makes a new request list for each run (history: fresh random pages every run, so
    # no run asks for pages an earlier one warmed up in a cache).
    regenerate: Callable[[int], list[tuple[str, str]]] | None = None
    runs: int = 0


async def http_run(
    ctx: Context, server: Server, state: HttpState, rate: float
) -> tuple[dict[str, float], list[str], dict[str, Any]]:
    fleet = ctx.fleet
    meter = Meter(server, fleet)
    host, port = server.nodes[0]
    if state.regenerate is not None:
        state.requests = state.regenerate(state.runs)
    state.runs += 1
    start_at = time.monotonic_ns() + START_DELAY_NS
    warmup, duration = ctx.p("warmup"), ctx.p("duration")
    shuffled = list(state.requests)
    random.Random(len(shuffled)).shuffle(shuffled)
    task = asyncio.ensure_future(
        fleet.all(
            [
                {
                    "op": "http",
                    "requests": part or shuffled,
                    "rate": rate / fleet.size,
                    "start_at": start_at,
                    "warmup": warmup,
                    "duration": duration,
                    "connections": max(1, ctx.p("http_connections") // fleet.size),
                    "host": host,
                    "port": port,
                }
                for part in split(shuffled, fleet.size)
            ]
        )
    )
    measure_from = start_at / 1e9 + warmup
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    before = meter.read()
    await asyncio.sleep(max(0.0, measure_from + duration - time.monotonic()))
    after = meter.read()
    results = await task
    usage = Meter.between(before, after)
    lat = merged(results, "latency_ms")
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update({str(k): v for k, v in r["statuses"].items()})
    summary = summarize(lat)
    figures = {f"{k}_ms": v for k, v in summary.items()}
    ok = sum(v for k, v in statuses.items() if k == "200")
    figures["done_per_s"] = len(lat) / duration
    figures["non_200"] = float(sum(statuses.values()) - ok)
    figures |= cpu_figures(usage, server, None)
    figures["lag_p99_ms"] = summarize(merged(results, "lag_ms"))["p99"]
    notes = limits(usage, fleet, figures["lag_p99_ms"], server)
    if figures["non_200"]:
        notes.append(f"HTTP statuses: {dict(statuses)}")
    return figures, notes, {"latency_ms": list(lat), "usage": usage}


class History(Scenario):
    name = "history"
    needs_gateway = False
    supports = ("hubbub", "seed-node", "target")

    def sections(self, ctx: Context) -> list[Section]:
        return [
            Section(
                key="history",
                title=f"history: 50-message pages at {ctx.p('http_rate'):g}/s, "
                f"{ctx.p('messages'):,} messages in {ctx.p('conversations')} conversations",
                budget_scale=ctx.full_scale,
                figures=[
                    Figure("p50_ms", "page latency p50", "ms", digits=2),
                    Figure("p99_ms", "page latency p99", "ms", "<= 10 ms", at_most(10), 2),
                    Figure("max_ms", "page latency max", "ms", digits=1),
                    Figure("done_per_s", "pages/s", "/s", ">= 1,000/s", at_least(1000), 0),
                    Figure("non_200", "non-200 answers", "", digits=0),
                    Figure("lag_p99_ms", "generator schedule lag p99", "ms", digits=2),
                    *CPU_FIGURES,
                ],
            )
        ]

    async def setup(self, ctx: Context, server: Server) -> HttpState:
        if server.database_url is None:
            raise NotSupported("history seeds the database directly: give --database-url")
        pool = http_pool(server)
        try:
            users = await register_users(pool, ctx.p("history_users"))
        finally:
            pool.close()
        t0 = time.monotonic()
        seeded = await seeding.seed_history(
            server.kind,
            server.database_url,
            [u.id for u in users],
            conversations=ctx.p("conversations"),
            messages=ctx.p("messages"),
        )
        took = time.monotonic() - t0
        print(
            f"bench: {server.label}: seeded {ctx.p('messages'):,} messages in "
            f"{took:.1f} s ({ctx.p('messages') / max(took, 1e-9):,.0f} rows/s)"
        )
        per_conv = seeded.per_conversation
        count = ctx.p("distinct_requests")

        def pages(run: int) -> list[tuple[str, str]]:
            rng = random.Random(1000 + run)
            requests = []
            for _ in range(count):
                c = rng.randrange(len(seeded.conversation_ids))
                seq = rng.randint(min(51, per_conv), per_conv)
                cursor = seeding.message_uuid(c * per_conv + seq)
                conv = seeded.conversation_ids[c]
                path = f"/conversations/{conv}/messages?limit=50&before={cursor}"
                requests.append((path, users[rng.randrange(len(users))].token))
            return requests

        return HttpState([], {"seed_s": took}, regenerate=pages)

    async def run(
        self, ctx: Context, server: Server, state: HttpState, section: Section
    ) -> RunResult:
        figures, notes, raw = await http_run(ctx, server, state, ctx.p("http_rate"))
        return RunResult(figures, notes, raw)


class Conversations(Scenario):
    name = "conversations"
    needs_gateway = False
    supports = ("hubbub", "target")

    def sections(self, ctx: Context) -> list[Section]:
        return [
            Section(
                key="conversations",
                title=f"conversations: GET /conversations (pages of 100) for users in "
                f"{ctx.p('list_conversations')} conversations, {ctx.p('list_rate'):g}/s",
                budget_scale=ctx.full_scale,
                figures=[
                    Figure("p50_ms", "page latency p50", "ms", digits=2),
                    Figure("p99_ms", "page latency p99", "ms", "<= 20 ms", at_most(20), 2),
                    Figure("max_ms", "page latency max", "ms", digits=1),
                    Figure("done_per_s", "pages/s", "/s", digits=0),
                    Figure("non_200", "non-200 answers", "", digits=0),
                    *CPU_FIGURES,
                ],
            )
        ]

    async def setup(self, ctx: Context, server: Server) -> HttpState:
        n_conv = ctx.p("list_conversations")
        pool = http_pool(server)
        try:
            users = await register_users(pool, ctx.p("list_users"))
            from hubbub_bench.setup import bounded

            async def make(i: int) -> str:
                owner = users[i % len(users)]
                others = [u for u in users if u is not owner]
                cid = await create_group(pool, owner, others, f"list {i}")
                await post_messages(pool, users[(i + 1) % len(users)], cid, ctx.p("list_messages"))
                return cid

            await bounded(n_conv, 8, make)
            requests = []
            for user in users:
                page = 100
                body = await pool.call("GET", f"/conversations?limit={page}", token=user.token)
                requests.append((f"/conversations?limit={page}", user.token))
                convs = body.get("conversations", [])
                if len(convs) == page and convs[-1].get("lastMessageAt"):
                    cursor = quote(str(convs[-1]["lastMessageAt"]), safe="")
                    requests.append((f"/conversations?limit={page}&before={cursor}", user.token))
        finally:
            pool.close()
        return HttpState(requests, {})

    async def run(
        self, ctx: Context, server: Server, state: HttpState, section: Section
    ) -> RunResult:
        figures, notes, raw = await http_run(ctx, server, state, ctx.p("list_rate"))
        return RunResult(figures, notes, raw)


SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (Fanout(), Throughput(), Connections(), Storm(), History(), Conversations())
}

"""Socket scenarios: many idle connections (memory and CPU per socket, handshakes/s) and
a reconnect storm (every client back at once, each asking `sync` for what it missed).
"""

from __future__ import annotations

import asyncio
import math
import time

from hubbub_bench.fleet import Meter
from hubbub_bench.procstat import CpuSnapshot, memory_kib, summarize
from hubbub_bench.results import Figure, RunResult, Section
from hubbub_bench.scenarios.base import (
    CPU_FIGURES,
    START_DELAY_NS,
    Context,
    GroupState,
    Scenario,
    at_least,
    at_most,
    connect_all,
    counted,
    cpu_figures,
    hand_out,
    http_pool,
    limits,
    make_groups,
    merged,
    specs_for,
)
from hubbub_bench.servers import Server
from hubbub_bench.setup import User, post_messages


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
                    # Whether the server was the bottleneck, and what one handshake cost it.
                    Figure("connect_cpu_pct", "server CPU, connect phase", "% of a core"),
                    Figure("handshake_cpu_ms", "server CPU per handshake", "ms", digits=2),
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
        cpu0 = CpuSnapshot.take(server.pids)
        conn = await connect_all(
            fleet, len(state.users), ctx.p("connect_concurrency"), ctx.p("spread")
        )
        connect_cpu_s = CpuSnapshot.take(server.pids).since(cpu0)
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
            "connect_cpu_pct": 100 * connect_cpu_s / conn["elapsed_s"]
            if conn["elapsed_s"] and server.pids
            else math.nan,
            "handshake_cpu_ms": 1000 * connect_cpu_s / connected
            if connected and server.pids
            else math.nan,
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

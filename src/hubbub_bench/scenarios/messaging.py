"""Sending scenarios: fanout (open loop, every send delivered to a group) and throughput
(closed loop, sends acknowledged), with the group commit's figures read from the
/metrics of a hubbub the bench started.
"""

from __future__ import annotations

import asyncio
import math
import time
import urllib.request
from dataclasses import dataclass

from hubbub_bench.fleet import Meter
from hubbub_bench.procstat import summarize
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
from hubbub_bench.setup import User, create_group, register_users


def grouped(ctx: Context) -> bool:
    """Each group's clients on one node (`--placement grouped`), not in turn."""
    return bool(ctx.p("placement") == "grouped")


# The new messages each node handed to its hub (a counter with a label).
NEW_MESSAGES_HEARD = 'hubbub_events_out_total{event="new_message"}'


def _metric_totals(host: str, port: int, name: str) -> tuple[float, float]:
    """(sum, count) of a histogram on one hubbub node's /metrics; (value, 1) of a
    counter."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith(name + "_sum "):
            total = float(line.split()[1])
        elif line.startswith(name + "_count "):
            count = float(line.split()[1])
        elif line.startswith(name + " "):
            total, count = float(line.split()[1]), 1.0
    return total, count


async def batch_totals(server: Server) -> dict[str, tuple[float, float]] | None:
    """(sum, count) of the group commit's histograms so far, over a bench-started
    hubbub's nodes: sends per commit and the time of a commit; and the new messages
    the nodes' hubs handled."""
    if server.kind != "hubbub":
        return None
    totals: dict[str, tuple[float, float]] = {}
    for name in ("hubbub_send_batch_size", "hubbub_send_batch_seconds", NEW_MESSAGES_HEARD):
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
    """Mean sends per commit and mean commit time (ms) in the window, and how many
    nodes handled each new message (1 when only the node of its group hears it)."""
    out = {"sends_per_commit": math.nan, "commit_ms": math.nan, "nodes_per_message": math.nan}
    if before is None or after is None:
        return out
    stored = after["hubbub_send_batch_size"][0] - before["hubbub_send_batch_size"][0]
    if stored > 0:
        heard = after[NEW_MESSAGES_HEARD][0] - before[NEW_MESSAGES_HEARD][0]
        out["nodes_per_message"] = heard / stored
    for key, name, scale in (
        ("sends_per_commit", "hubbub_send_batch_size", 1.0),
        ("commit_ms", "hubbub_send_batch_seconds", 1000.0),
    ):
        (s0, c0), (s1, c1) = before[name], after[name]
        if c1 > c0:
            out[key] = scale * (s1 - s0) / (c1 - c0)
    return out


class Fanout(Scenario):
    name = "fanout"

    def sections(self, ctx: Context) -> list[Section]:
        out = []
        rates = [(rate, "") for rate in ctx.p("rates")]
        if ctx.p("overload") > 0:  # the overload step: past the highest rate asked
            factor = ctx.p("overload")
            rates.append((max(ctx.p("rates")) * factor, f" (overload: {factor:g}x)"))
        for rate, step in rates:
            full = ctx.full_scale and rate == 1000
            out.append(
                Section(
                    key=f"rate={rate:g}",
                    title=f"fanout: {ctx.p('clients')} clients in groups of "
                    f"{ctx.p('group_size')}, {rate:g} sends/s{step}"
                    + (", each group's clients on one node" if grouped(ctx) else ""),
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
                        Figure("sent_per_s", "sends offered/s", "/s", digits=0),
                        Figure("acked_per_s", "sends acknowledged/s", "/s", digits=0),
                        Figure("shed", "sends shed (rate_limited)", "", digits=0),
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
                        Figure("nodes_per_message", "nodes that handled each new message", ""),
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
        by_group = ctx.p("group_size") if grouped(ctx) else 0
        specs = specs_for(server, state.users, state.send_to, by_group=by_group)
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
        # A shed send (rate_limited) is refused, not lost: nothing of it is expected.
        shed = sum(r.get("shed", 0) for r in results)
        expected = (sent - shed) * mean_fanout
        delivered = len(deliveries) + len(acks)
        figures = summarize(deliveries)
        figures = {k + "_ms": v for k, v in figures.items()}
        ack_summary = summarize(acks)
        figures |= {
            "ack_p50_ms": ack_summary["p50"],
            "ack_p99_ms": ack_summary["p99"],
            "deliveries_per_s": delivered / duration,
            "lost": max(0.0, expected - len(deliveries)) + max(0, sent - shed - len(acks)),
            "errors": float(sum(counted(results, "errors").values())),
            "lag_p99_ms": summarize(lag)["p99"],
            "sent_per_s": sent / duration,
            "acked_per_s": len(acks) / duration,
            "shed": float(shed),
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

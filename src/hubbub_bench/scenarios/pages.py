"""HTTP read scenarios: history pages and conversation lists, open-loop GETs that the
workers send over keep-alive connections.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hubbub_bench import seeding
from hubbub_bench.fleet import Meter
from hubbub_bench.procstat import summarize
from hubbub_bench.results import Figure, RunResult, Section
from hubbub_bench.scenarios.base import (
    CPU_FIGURES,
    START_DELAY_NS,
    Context,
    NotSupported,
    Scenario,
    at_least,
    at_most,
    cpu_figures,
    http_pool,
    limits,
    merged,
    split,
)
from hubbub_bench.servers import Server
from hubbub_bench.setup import create_group, post_messages, register_users


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
            if server.database_url:
                await seeding.analyze(server.database_url)
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

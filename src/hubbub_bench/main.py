"""`hubbub bench SCENARIO`: arguments, scales, the run loop, the table and the JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubbub_bench.fleet import Fleet
from hubbub_bench.procstat import median
from hubbub_bench.scenarios import SCENARIOS, Context, NotSupported, RunResult, Section
from hubbub_bench.servers import Server, ServerError, start, target_server
from hubbub_bench.worker import raise_fd_limit

# Scale presets: `full` is what QUALITY.md's budgets are set for; `tiny` runs in seconds.
SCALES: dict[str, dict[str, Any]] = {
    "tiny": {
        "clients": 12,
        "group_size": 4,
        "rates": [20.0],
        "duration": 1.5,
        "warmup": 0.5,
        "drain": 0.5,
        "settle": 0.2,
        "runs": 1,
        "senders": 4,
        "window": 2,
        "idle": 1.0,
        "user_conversations": 2,
        "storm_messages": 1,
        "messages": 2_000,
        "conversations": 4,
        "history_users": 2,
        "http_rate": 50.0,
        "http_connections": 4,
        "list_conversations": 6,
        "list_users": 2,
        "list_messages": 1,
        "list_rate": 20.0,
    },
    "small": {
        "clients": 500,
        "group_size": 10,
        "rates": [100.0, 200.0],
        "duration": 5.0,
        "warmup": 1.0,
        "drain": 1.0,
        "settle": 1.0,
        "runs": 3,
        "senders": 100,
        "window": 4,
        "idle": 5.0,
        "user_conversations": 5,
        "storm_messages": 2,
        "messages": 1_000_000,
        "conversations": 100,
        "history_users": 4,
        "http_rate": 300.0,
        "http_connections": 32,
        "list_conversations": 200,
        "list_users": 5,
        "list_messages": 2,
        "list_rate": 50.0,
    },
    "full": {
        "clients": 5_000,
        "group_size": 10,
        "rates": [1000.0],
        "duration": 20.0,
        "warmup": 5.0,
        "drain": 2.0,
        "settle": 2.0,
        "runs": 3,
        "senders": 1_000,
        "window": 4,
        "idle": 30.0,
        "user_conversations": 20,
        "storm_messages": 2,
        "messages": 10_000_000,
        "conversations": 100,
        "history_users": 4,
        "http_rate": 1000.0,
        "http_connections": 64,
        "list_conversations": 200,
        "list_users": 20,
        "list_messages": 3,
        "list_rate": 100.0,
    },
}
# The clients of the connections and storm scenarios at full scale (QUALITY.md).
FULL_CONNECTIONS = 10_000
COMMON = {
    "connect_concurrency": 500,
    "spread": 16,
    "retries": 5,
    "storm_timeout": 30.0,
    "message_bytes": 100,
    "distinct_requests": 20_000,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", choices=sorted(SCENARIOS), help="what to measure")
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="full",
        help="preset sizes (default: full, the budgets' scale)",
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="hubbub's storage when the bench starts it (default: sqlite)",
    )
    parser.add_argument("--nodes", type=int, default=1, help="hubbub nodes (2 needs postgresql)")
    parser.add_argument(
        "--server",
        choices=["hubbub", "seed-node", "bare"],
        default="hubbub",
        help="the server to start and measure (default: hubbub)",
    )
    parser.add_argument(
        "--vs",
        choices=["seed-node", "bare"],
        action="append",
        default=[],
        help="also run a baseline, alternating runs, and print ratios",
    )
    parser.add_argument("--target", help="measure a running server at this loopback URL")
    parser.add_argument("--server-pid", type=int, help="with --target: its pid, for CPU/memory")
    parser.add_argument("--database-url", help="with --target: its database, for seeding")
    parser.add_argument("--runs", type=int, help="measured runs per server (median shown)")
    parser.add_argument("--workers", type=int, help="generator processes (default: by load)")
    parser.add_argument("--json", type=Path, help="write every run's raw results here")
    parser.add_argument("--plot", type=Path, help="fanout: latency percentiles vs rate (PNG)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy profile of the (first) server over the measured window of its first run",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for a hubbub the bench starts",
    )
    for name, kind in [
        ("clients", int),
        ("group_size", int),
        ("duration", float),
        ("warmup", float),
        ("drain", float),
        ("senders", int),
        ("window", int),
        ("idle", float),
        ("user_conversations", int),
        ("storm_messages", int),
        ("messages", int),
        ("conversations", int),
        ("http_rate", float),
        ("http_connections", int),
        ("list_conversations", int),
        ("list_users", int),
        ("list_rate", float),
        ("connect_concurrency", int),
        ("message_bytes", int),
        ("retries", int),
    ]:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None)
    parser.add_argument("--rates", help="fanout: comma-separated send rates per second")


def params_for(args: argparse.Namespace) -> dict[str, Any]:
    params = dict(COMMON) | dict(SCALES[args.scale])
    if args.scale == "full" and args.scenario in ("connections", "storm"):
        params["clients"] = FULL_CONNECTIONS
    for key in [*params, "history_users"]:
        value = getattr(args, key, None)
        if value is not None:
            params[key] = value
    if args.rates:
        params["rates"] = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.runs is not None:
        params["runs"] = args.runs
    return params


def default_workers(scenario: str, params: dict[str, Any]) -> int:
    load = params["clients"] if scenario in ("fanout", "connections", "storm") else 0
    if scenario == "fanout":
        load = max(load, int(max(params["rates"]) * params["group_size"] / 4))
    return 2 if load > 2000 else 1


@dataclass
class Outcome:
    server: Server
    runs: dict[str, list[RunResult]] = field(default_factory=dict)  # section key -> runs
    skipped: str | None = None


async def run_bench(args: argparse.Namespace) -> int:
    raise_fd_limit()
    scenario = SCENARIOS[args.scenario]
    params = params_for(args)
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    workers = args.workers or default_workers(args.scenario, params)
    print(
        f"hubbub bench {args.scenario} (scale {args.scale}): {os.cpu_count()} cores, "
        f"{_memory_gib():.0f} GiB, {workers} generator process(es), {params['runs']} run(s)"
    )
    servers: list[Server] = []
    outcomes: list[Outcome] = []
    fleet = Fleet(workers, "/messaging")
    ctx = Context(params=params, fleet=fleet, full_scale=args.scale == "full")
    sections = scenario.sections(ctx)
    try:
        if args.target:
            servers.append(target_server(args.target, args.server_pid, args.database_url))
        else:
            servers.append(await start(args.server, args.backend, args.nodes, extra_env=extra_env))
        for kind in args.vs:
            servers.append(await start(kind, args.backend))
        states: dict[int, Any] = {}
        for i, server in enumerate(servers):
            outcome = Outcome(server)
            outcomes.append(outcome)
            if server.kind not in scenario.supports:
                outcome.skipped = f"{server.kind} does not implement what {scenario.name} needs"
                continue
            try:
                states[i] = await scenario.setup(ctx, server)
            except NotSupported as exc:
                outcome.skipped = str(exc)
        profiled = False
        for section in sections:
            for run in range(params["runs"]):
                for i, outcome in enumerate(outcomes):
                    if outcome.skipped:
                        continue
                    if args.profile and not profiled and outcome.server.pids:
                        outcome.server.profile_to = args.profile
                        profiled = True
                    result = await scenario.run(ctx, outcome.server, states[i], section)
                    if profiled and outcome.server.profile_to is None and args.profile:
                        report_profile(args.profile)
                        args.profile = None
                    outcome.runs.setdefault(section.key, []).append(result)
                    print(
                        f"  {outcome.server.label} | {section.title} | run {run + 1}: "
                        + _brief(result, section)
                    )
    except ServerError as exc:
        print(f"hubbub bench: {exc}", file=sys.stderr)
        return 2
    finally:
        await fleet.close()
        for server in servers:
            await server.stop()
    print()
    print(render(sections, outcomes, params, workers))
    if args.json:
        write_json(args.json, args, params, sections, outcomes, workers)
        print(f"raw results: {args.json}")
    if args.plot and args.scenario == "fanout":
        from hubbub_bench.plot import plot_fanout

        plot_fanout(args.plot, sections, outcomes)
        print(f"plot: {args.plot}")
    return 0


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) / 1024**2
    except OSError:
        return math.nan


def _fmt(value: float, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if digits == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _brief(result: RunResult, section: Section) -> str:
    shown = []
    for fig in section.figures[:4]:
        if fig.key in result.figures:
            shown.append(f"{fig.label} {_fmt(result.figures[fig.key], fig.digits)}{fig.unit}")
    return "; ".join(shown)


def render(
    sections: list[Section], outcomes: list[Outcome], params: dict[str, Any], workers: int
) -> str:
    lines: list[str] = []
    active = [o for o in outcomes if not o.skipped]
    for outcome in outcomes:
        if outcome.skipped:
            lines.append(f"{outcome.server.label}: not run ({outcome.skipped})")
    for section in sections:
        lines.append(f"## {section.title}")
        lines.append(
            f"medians of {params['runs']} run(s); {os.cpu_count()} cores; "
            f"generator: {workers} process(es)"
            + ("" if section.budget_scale else "; NOT at the budgets' scale (verdicts shown as ~)")
        )
        header = ["figure", *[o.server.label for o in active]]
        if len(active) > 1:
            header += [f"ratio {o.server.kind}/{active[0].server.kind}" for o in active[1:]]
        header += ["budget", "verdict"]
        rows = [header]
        for fig in section.figures:
            medians = []
            for outcome in active:
                runs = outcome.runs.get(section.key, [])
                medians.append(median([r.figures.get(fig.key, math.nan) for r in runs]))
            if all(math.isnan(m) for m in medians):
                continue
            label = f"{fig.label} ({fig.unit})" if fig.unit else fig.label
            row = [label, *[_fmt(m, fig.digits) for m in medians]]
            for m in medians[1:]:
                ratio = m / medians[0] if medians[0] and not math.isnan(medians[0]) else math.nan
                row.append(_fmt(ratio, 2) if not math.isnan(ratio) else "-")
            verdict = ""
            if fig.check is not None and active and not math.isnan(medians[0]):
                met = fig.check(medians[0])
                verdict = (
                    ("met" if met else "NOT met")
                    if section.budget_scale
                    else ("~met" if met else "~not met")
                )
            row += [fig.budget, verdict]
            rows.append(row)
        widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
        for n, row in enumerate(rows):
            lines.append(
                "| " + " | ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)) + " |"
            )
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for outcome in active:
            notes: dict[str, int] = {}
            for r in outcome.runs.get(section.key, []):
                for note in r.notes:
                    notes[note] = notes.get(note, 0) + 1
            for note in outcome.server.notes:
                notes.setdefault(note, 0)
            for note, count in notes.items():
                times = f" (in {count} run(s))" if count else ""
                lines.append(f"  note, {outcome.server.label}: {note}{times}")
        lines.append("")
    return "\n".join(lines)


def write_json(
    path: Path,
    args: argparse.Namespace,
    params: dict[str, Any],
    sections: list[Section],
    outcomes: list[Outcome],
    workers: int,
) -> None:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    document = {
        "scenario": args.scenario,
        "scale": args.scale,
        "params": params,
        "machine": {
            "cores": os.cpu_count(),
            "memory_gib": round(_memory_gib(), 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "generator_processes": workers,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "servers": [
            {
                "label": o.server.label,
                "kind": o.server.kind,
                "backend": o.server.backend,
                "nodes": len(o.server.nodes),
                "skipped": o.skipped,
                "notes": o.server.notes,
                "sections": {
                    s.key: {
                        "title": s.title,
                        "runs": [
                            {"figures": r.figures, "notes": r.notes, "raw": r.raw}
                            for r in o.runs.get(s.key, [])
                        ],
                        "median": {
                            f.key: median(
                                [r.figures.get(f.key, math.nan) for r in o.runs.get(s.key, [])]
                            )
                            for f in s.figures
                        },
                    }
                    for s in sections
                },
            }
            for o in outcomes
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(document)))


def report_profile(out: Path) -> None:
    from hubbub_bench.profile import summarize_collapsed

    try:
        text = out.read_text()
    except OSError:
        print(f"profile: py-spy wrote nothing to {out}")
        return
    print(f"profile of the measured window: {out}")
    print(summarize_collapsed(text))


def main(args: argparse.Namespace) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(run_bench(args))
    return uvloop.run(run_bench(args))

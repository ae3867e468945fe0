"""`hubbub bench SCENARIO`: its arguments, the scale presets, and the parameters of a run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hubbub_bench.scenarios import SCENARIOS

# Scale presets: `full` is what docs/guarantees.md's budgets are set for; `tiny` runs in seconds.
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
# The clients of the connections and storm scenarios at full scale (docs/guarantees.md).
FULL_CONNECTIONS = 10_000
COMMON = {
    "connect_concurrency": 500,
    "spread": 16,
    "retries": 5,
    "storm_timeout": 30.0,
    "message_bytes": 100,
    "distinct_requests": 20_000,
    "placement": "spread",
    "overload": 0.0,
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
    parser.add_argument("--nodes", type=int, default=1, help="hubbub nodes (2+ need postgresql)")
    parser.add_argument(
        "--placement",
        choices=["spread", "grouped"],
        help="fanout with several nodes: clients in turn over the nodes (spread, the "
        "default: every group on every node) or each group's clients on one node (grouped)",
    )
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
        ("overload", float),
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

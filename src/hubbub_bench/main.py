"""`hubbub bench SCENARIO`: start the servers, set each up, alternate the measured runs
between them, then print and write the results (`report`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from hubbub_bench.fleet import Fleet
from hubbub_bench.options import default_workers, params_for
from hubbub_bench.report import brief, memory_gib, render, report_profile, write_json
from hubbub_bench.results import Outcome
from hubbub_bench.scenarios import SCENARIOS
from hubbub_bench.scenarios.base import Context, NotSupported
from hubbub_bench.servers import Server, ServerError, start, target_server
from hubbub_bench.worker import raise_fd_limit


async def run_bench(args: argparse.Namespace) -> int:
    raise_fd_limit()
    scenario = SCENARIOS[args.scenario]
    params = params_for(args)
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    workers = args.workers or default_workers(args.scenario, params)
    print(
        f"hubbub bench {args.scenario} (scale {args.scale}): {os.cpu_count()} cores, "
        f"{memory_gib():.0f} GiB, {workers} generator process(es), {params['runs']} run(s)"
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
                        + brief(result, section)
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


def main(args: argparse.Namespace) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(run_bench(args))
    return uvloop.run(run_bench(args))

"""What a bench run prints and writes: the per-run line, the table of medians beside
their budgets, the JSON of every run's raw results, and the profile's summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

from hubbub_bench.procstat import median
from hubbub_bench.results import Outcome, RunResult, Section


def memory_gib() -> float:
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


def brief(result: RunResult, section: Section) -> str:
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
            "memory_gib": round(memory_gib(), 1),
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

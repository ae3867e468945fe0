"""The fanout latency plot: send->receive percentiles against the offered send rate.

Needs matplotlib (the optional `bench` extra: `pip install -e '.[bench]'`).
`python -m hubbub_bench.plot RESULT.json[.gz] OUT.png` redraws it from `--json` output.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubbub_bench.procstat import median

if TYPE_CHECKING:
    from hubbub_bench.results import Outcome, Section

KEYS = ("p50_ms", "p95_ms", "p99_ms")
Series = dict[str, list[tuple[float, dict[str, float]]]]  # label -> [(rate, medians)]


def _rate(section_key: str) -> float:
    return float(section_key.split("=", 1)[1])


def plot_fanout(path: Path, sections: list[Section], outcomes: list[Outcome]) -> None:
    series: Series = {}
    for outcome in outcomes:
        if outcome.skipped:
            continue
        points = []
        for section in sections:
            runs = outcome.runs.get(section.key, [])
            if runs:
                points.append(
                    (
                        _rate(section.key),
                        {k: median([r.figures.get(k, math.nan) for r in runs]) for k in KEYS},
                    )
                )
        series[outcome.server.label] = points
    draw(path, series)


def plot_json(result: Path, path: Path) -> None:
    raw = result.read_bytes()
    if result.suffix == ".gz":  # the reports keep their raw results compressed
        raw = gzip.decompress(raw)
    document: dict[str, Any] = json.loads(raw)
    series: Series = {}
    for server in document["servers"]:
        points = []
        for key, section in server["sections"].items():
            values = {k: section["median"].get(k) for k in KEYS}
            points.append(
                (_rate(key), {k: math.nan if v is None else v for k, v in values.items()})
            )
        series[server["label"]] = points
    draw(path, series)


def draw(path: Path, series: Series) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install -e '.[bench]'") from exc
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    styles = {"p50_ms": ":", "p95_ms": "--", "p99_ms": "-"}
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for n, (label, points) in enumerate(series.items()):
        for key, style in styles.items():
            xy = [(x, v[key]) for x, v in sorted(points) if not math.isnan(v[key])]
            if xy:
                ax.plot(
                    [p[0] for p in xy],
                    [p[1] for p in xy],
                    style,
                    marker="o",
                    color=colors[n % len(colors)],
                    label=f"{label} {key.removesuffix('_ms')}",
                )
    ax.axhline(15, color="grey", linewidth=0.8)
    ax.text(ax.get_xlim()[0], 15, " p99 budget 15 ms", va="bottom", color="grey", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("offered send rate (sends/s; x group size - 1 = new_message deliveries/s)")
    ax.set_ylabel("send -> receive latency (ms, log scale)")
    ax.set_title("fanout: latency percentiles at increasing send rates (open loop)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    plot_json(Path(sys.argv[1]), Path(sys.argv[2]))

"""The fanout latency plot: send->receive percentiles against the offered send rate.

Needs matplotlib (the optional `bench` extra: `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from hubbub.bench.procstat import median

if TYPE_CHECKING:
    from hubbub.bench.main import Outcome
    from hubbub.bench.scenarios import Section


def plot_fanout(path: Path, sections: list[Section], outcomes: list[Outcome]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install -e '.[bench]'") from exc
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    styles = {"p50_ms": ":", "p95_ms": "--", "p99_ms": "-"}
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for n, outcome in enumerate(o for o in outcomes if not o.skipped):
        for key, style in styles.items():
            xs, ys = [], []
            for section in sections:
                runs = outcome.runs.get(section.key, [])
                if not runs:
                    continue
                deliveries = median([r.figures.get("deliveries_per_s", math.nan) for r in runs])
                value = median([r.figures.get(key, math.nan) for r in runs])
                if not math.isnan(value):
                    xs.append(deliveries)
                    ys.append(value)
            if xs:
                ax.plot(
                    xs,
                    ys,
                    style,
                    marker="o",
                    color=colors[n % len(colors)],
                    label=f"{outcome.server.label} {key.removesuffix('_ms')}",
                )
    ax.axhline(15, color="grey", linewidth=0.8)
    ax.text(ax.get_xlim()[0], 15, " p99 budget 15 ms", va="bottom", color="grey", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("deliveries per second (new_message + message_sent)")
    ax.set_ylabel("send -> receive latency (ms, log scale)")
    ax.set_title("fanout: latency percentiles at increasing send rates")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)

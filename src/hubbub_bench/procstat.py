"""CPU time and memory of processes, read from /proc (Linux), and latency statistics."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[bytes] | None:
    """/proc/<pid>/stat from its fourth field (state) on, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ")".
    return raw[raw.rfind(b")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads), or None if it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def reaped_seconds(pid: int) -> float:
    """User + system CPU seconds of the children `pid` has waited for (ended ones)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def postmaster_pid() -> int | None:
    """PostgreSQL's first process, the parent of every backend (its parent is not one)."""
    postgres = set(pids_named("postgres"))
    for pid in postgres:
        fields = _stat_fields(pid)
        if fields is not None and int(fields[1]) not in postgres:
            return pid
    return None


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident) in KiB; empty if the process is gone."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    out[name] = int(value.split()[0])
    except OSError:
        return {}
    return out


def pids_named(*names: str) -> list[int]:
    """Every process whose command name is one of `names` (e.g. postgres, redis-server)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in names:
            found.append(int(entry))
    return found


POSTGRES_AUXILIARY = ("walwriter", "checkpointer", "background writer", "walsummarizer")


def database_pids(database: str | None) -> list[int]:
    """PostgreSQL processes serving `database` (its backends, by their process title)
    plus the cluster's WAL writer, checkpointer and background writer, and Redis.

    Other databases' backends on the same cluster (other work on a shared machine) are
    left out; the auxiliary processes and Redis are shared and counted whole.
    """
    found = []
    for pid in pids_named("postgres", "redis-server"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (
            "redis" in title
            or any(a in title for a in POSTGRES_AUXILIARY)
            or (database and f" {database} " in title)
        ):
            found.append(pid)
    return found


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        first = f.readline().split()
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    per_pid: dict[int, float]
    # With `parent`: the CPU of its children that have ended, who are the pids that
    # leave between two snapshots (PostgreSQL's backends, whose parent is the postmaster).
    reaped: float | None = None

    @classmethod
    def take(cls, pids: Iterable[int], *, parent: int | None = None) -> CpuSnapshot:
        values = {}
        for pid in pids:
            seconds = cpu_seconds(pid)
            if seconds is not None:
                values[pid] = seconds
        return cls(values, None if parent is None else reaped_seconds(parent))

    def since(self, earlier: CpuSnapshot) -> float:
        """CPU seconds used between `earlier` and this snapshot: by the pids in both, by
        the pids that started in between (all of theirs), and, where the parent is known,
        by the pids that ended in between (what their parent reaped, less what they had
        used before `earlier`)."""
        used = sum(v - earlier.per_pid.get(p, 0.0) for p, v in self.per_pid.items())
        if self.reaped is not None and earlier.reaped is not None:
            gone = sum(v for p, v in earlier.per_pid.items() if p not in self.per_pid)
            used += self.reaped - earlier.reaped - gone
        return used


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending sequence; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def summarize(values: Sequence[float], prefix: str = "") -> dict[str, float]:
    """p50/p95/p99/max (and count) of latencies, in the unit they came in."""
    ordered = sorted(values)
    return {
        f"{prefix}p50": percentile(ordered, 50),
        f"{prefix}p95": percentile(ordered, 95),
        f"{prefix}p99": percentile(ordered, 99),
        f"{prefix}max": float(ordered[-1]) if ordered else math.nan,
    }


def median(values: Sequence[float]) -> float:
    clean = sorted(v for v in values if not math.isnan(v))
    if not clean:
        return math.nan
    mid = len(clean) // 2
    return clean[mid] if len(clean) % 2 else (clean[mid - 1] + clean[mid]) / 2

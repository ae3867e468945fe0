"""What a benchmark run produces: figures, sections, run results and each server's outcome.

Shared by the scenarios (which fill them), the report (the table and the JSON) and the
plot, so none of those needs to import another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hubbub_bench.servers import Server


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    budget: str = ""
    check: Callable[[float], bool] | None = None
    digits: int = 1


@dataclass
class RunResult:
    figures: dict[str, float]
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure]
    budget_scale: bool = False  # whether this run is at the scale the budgets are set for


@dataclass
class Outcome:
    server: Server
    runs: dict[str, list[RunResult]] = field(default_factory=dict)  # section key -> runs
    skipped: str | None = None

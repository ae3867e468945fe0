"""How an operator's command talks: its answer, its refusals, its progress.

Every command under `hubbub.admin_cli` and `hubbub.ops` prints its answer with `emit`
(lines for a person, or with `--json` one JSON document) and a refusal with `fail`.
Progress goes to stderr: a rich progress bar when stderr is a terminal, else one line
as each step ends, so a log or a test reads what happened.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from pydantic import BaseModel

Output = tuple[str, BaseModel | dict[str, Any]]
INTERRUPTED = 130
STOPPED = 3


def add_json(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def emit(args: argparse.Namespace, output: Output) -> None:
    text, payload = output
    if not args.json:
        print(text)
    elif isinstance(payload, BaseModel):
        print(payload.model_dump_json(by_alias=True))
    else:
        print(json.dumps(payload))


def fail(args: argparse.Namespace, code: str, message: str) -> int:
    print(f"hubbub: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"code": code, "message": message}))
    return 1


def interrupted(args: argparse.Namespace) -> int:
    """Ctrl-C: what is done stays done, and running the command again finishes it."""
    fail(args, "interrupted", "interrupted; run the same command again to finish")
    return INTERRUPTED


class Step(Protocol):
    def advance(self, amount: int = 1) -> None: ...


class Refused(Exception):
    """A command's refusal: nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Stopped(Exception):
    """A command that stopped early as asked: what it did stays, and running it again
    finishes the work (exit status 3)."""

    def __init__(self, message: str, payload: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.payload = payload


class _LineStep:
    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
        self.done = 0

    def advance(self, amount: int = 1) -> None:
        self.done += amount


class _BarStep:
    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task
        self.done = 0

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        self._bar.advance(self._task, amount)


class Progress:
    """The steps of one command: `with progress.step("messages", total) as step:`."""

    def __init__(self, command: str) -> None:
        self._command = command
        self._bar: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(console=Console(stderr=True), transient=False)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Step]:
        if self._bar is not None:
            task = self._bar.add_task(label, total=total)
            bar = _BarStep(self._bar, task)
            yield bar
            # A finished step shows full, an empty one too (rich shows 0 of 0 as 0%).
            end = max(bar.done, total or 0, 1)
            self._bar.update(task, completed=end, total=end)
            return
        line = _LineStep(label, total)
        yield line
        of = f"/{line.total}" if line.total is not None else ""
        print(f"{self._command}: {label}: {line.done}{of} done", file=sys.stderr, flush=True)

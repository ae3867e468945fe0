"""`hubbub bench`: every scenario end to end at tiny scale, and the baselines.

Smoke tests only: a scenario runs against a real server on loopback and writes a
well-formed result. Nothing here asserts a speed (the machine is shared and small).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hubbub_bench.procstat import percentile, summarize
from hubbub_bench.profile import summarize_collapsed
from hubbub_bench.seeding import message_uuid
from hubbub_bench.setup import group_layout
from hubbub_bench.wire import OP_TEXT, ws_frame
from tests.conftest import BACKEND

GATEWAY_SCENARIOS = ["fanout", "throughput", "connections", "storm"]


def bench(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hubbub", "bench", *args, "--scale", "tiny", "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "## " in result.stdout  # the table was printed
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def figures(document: dict[str, Any], server: int = 0) -> dict[str, Any]:
    sections = document["servers"][server]["sections"]
    section = next(iter(sections.values()))
    assert section["runs"], "no run recorded"
    run_figures: dict[str, Any] = section["runs"][0]["figures"]
    return run_figures


def assert_delivered(figs: dict[str, Any]) -> None:
    assert figs["connected"] > 0
    assert figs["deliveries_per_s"] > 0
    assert figs["p50_ms"] is not None
    assert figs["lost"] == 0
    assert figs["errors"] == 0


# Pieces -------------------------------------------------------------------------------


def test_frames_are_masked_client_frames() -> None:
    frame = ws_frame(b"42/messaging,[]")
    assert frame[0] == 0x80 | OP_TEXT
    assert frame[1] == 0x80 | 15
    assert frame[2:6] == b"\0\0\0\0"
    assert frame[6:] == b"42/messaging,[]"
    long = ws_frame(b"x" * 300)
    assert long[1] == 0x80 | 126
    assert int.from_bytes(long[2:4], "big") == 300


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert summarize(values)["max"] == 100


# Burns `argv[1]` seconds of CPU, then waits for a line on stdin and burns as much again.
_BURNER = """
import sys, time
def burn(s):
    end = time.process_time() + s
    while time.process_time() < end:
        pass
burn(float(sys.argv[1]))
print("burnt", flush=True)
sys.stdin.readline()
burn(float(sys.argv[1]))
"""

# A parent of its own (no other children of the test process reaped in the window):
# one burner ends in the window, one starts in it; prints the CPU counted with the
# parent and without.
_WINDOW = """
import os, subprocess, sys
from hubbub_bench.procstat import CpuSnapshot

def burning():
    burner = subprocess.Popen(
        [sys.executable, "-c", sys.argv[1], "0.3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert burner.stdout.readline() == b"burnt\\n"
    return burner

old = burning()
before = CpuSnapshot.take([old.pid], parent=os.getpid())
new = burning()
old.communicate(b"go\\n")  # its second 0.3 s, then it ends and is reaped
after = CpuSnapshot.take([new.pid], parent=os.getpid())
new.communicate(b"go\\n")
print(after.since(before), CpuSnapshot(after.per_pid).since(CpuSnapshot(before.per_pid)))
"""


def test_cpu_between_snapshots_counts_processes_that_start_and_end_in_between() -> None:
    """PostgreSQL opens and closes backends during a measured window: a backend started in
    it counts whole, and one that ended in it counts what its parent reaped, less what it
    had used before the window."""
    argv = [sys.executable, "-c", _WINDOW, _BURNER]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)  # noqa: S603
    with_parent, without = (float(v) for v in out.stdout.split())
    # The new one's 0.3 s and the old one's second 0.3 s, not the old one's first 0.3 s,
    # which was before the window (/proc counts in ticks of 10 ms: a little either way).
    assert 0.5 < with_parent < 0.8
    # Without the parent the one that ended is lost: the new one's alone.
    assert 0.2 < without < 0.5


def test_group_layout_puts_everyone_in_a_group_per_round() -> None:
    layout = group_layout(21, 10, rounds=2)  # 10 + 11: a group of one is folded in
    for first in (layout[:2], layout[2:]):
        members = sorted(m for g in first for m in g)
        assert members == list(range(21))
    assert all(len(g) >= 2 for g in layout)


def test_seeded_message_ids_are_time_ordered_uuids() -> None:
    ids = [message_uuid(g) for g in (0, 1, 4096, 10**7)]
    assert ids == sorted(ids)
    assert all(i[14] == "7" for i in ids)


def test_profile_summary_names_the_hot_functions() -> None:
    text = (
        "run (asyncio/events.py:80);emit (socketio/server.py:10);dumps (json.py:1) 30\n"
        "run (asyncio/events.py:80);send (engineio/socket.py:5) 10\n"
    )
    summary = summarize_collapsed(text)
    assert "40 samples" in summary
    assert "75.0%  dumps (json.py)" in summary


# The bare baseline drives the generator end to end (any backend: it has no database) --


@pytest.mark.sqlite_only
@pytest.mark.parametrize("scenario", GATEWAY_SCENARIOS)
def test_scenario_against_bare_baseline(tmp_path: Path, scenario: str) -> None:
    document = bench(tmp_path, scenario, "--server", "bare")
    assert document["servers"][0]["kind"] == "bare"
    figs = figures(document)
    if scenario == "fanout":
        assert_delivered(figs)
    elif scenario == "throughput":
        assert figs["acked_per_s"] > 0
        assert figs["errors"] == 0
    elif scenario == "connections":
        assert figs["connected"] == document["params"]["clients"]
        assert figs["kib_per_socket"] is not None
    else:
        assert figs["failed"] == 0
        assert figs["all_back_s"] is not None


# hubbub itself, on this run's backend --------------------------------------------------


def backend_args() -> list[str]:
    return ["--backend", BACKEND]


def test_history_scenario_on_hubbub(tmp_path: Path) -> None:
    figs = figures(bench(tmp_path, "history", *backend_args()))
    assert figs["done_per_s"] > 0
    assert figs["non_200"] == 0
    assert figs["p99_ms"] is not None


def test_conversations_scenario_on_hubbub(tmp_path: Path) -> None:
    figs = figures(bench(tmp_path, "conversations", *backend_args()))
    assert figs["done_per_s"] > 0
    assert figs["non_200"] == 0


@pytest.mark.parametrize("scenario", GATEWAY_SCENARIOS)
def test_gateway_scenario_on_hubbub(tmp_path: Path, scenario: str) -> None:
    extra = ["--overload", "2"] if scenario == "fanout" else []
    document = bench(tmp_path, scenario, *backend_args(), *extra)
    figs = figures(document)
    if scenario == "fanout":
        assert_delivered(figs)
        # The overload step: twice the highest rate asked, its sends counted three ways.
        sections = document["servers"][0]["sections"]
        rate = document["params"]["rates"][-1]
        assert list(sections) == [f"rate={rate:g}", f"rate={2 * rate:g}"]
        step = sections[f"rate={2 * rate:g}"]["runs"][0]["figures"]
        assert step["sent_per_s"] > 0
        assert step["acked_per_s"] > 0
        assert step["shed"] == 0  # twice a tiny rate is no overload for the server
    elif scenario == "throughput":
        assert figs["acked_per_s"] > 0
    elif scenario == "connections":
        assert figs["connected"] > 0
    else:
        assert figs["failed"] == 0


@pytest.mark.postgres_only
@pytest.mark.parametrize("placement", ["spread", "grouped"])
def test_fanout_across_two_hubbub_nodes(tmp_path: Path, placement: str) -> None:
    document = bench(
        tmp_path, "fanout", "--backend", "postgresql", "--nodes", "2", "--placement", placement
    )
    assert document["servers"][0]["nodes"] == 2
    figs = figures(document)
    assert_delivered(figs)
    # Grouped, each message is needed on one node and only that node handles it;
    # spread, each group has members on both nodes and both handle every message.
    if placement == "grouped":
        assert figs["nodes_per_message"] < 1.5, figs
    else:
        assert figs["nodes_per_message"] > 1.5, figs


# The seed-node baseline (Node.js + socket.io + pg): PostgreSQL pass only ------------------


@pytest.mark.postgres_only
def test_seed_node_baseline_side_by_side_with_bare(tmp_path: Path) -> None:
    document = bench(tmp_path, "fanout", "--server", "bare", "--vs", "seed-node")
    kinds = [s["kind"] for s in document["servers"]]
    assert kinds == ["bare", "seed-node"]
    assert_delivered(figures(document, 0))
    assert_delivered(figures(document, 1))


@pytest.mark.postgres_only
def test_history_on_seed_node_baseline(tmp_path: Path) -> None:
    figs = figures(bench(tmp_path, "history", "--server", "seed-node"))
    assert figs["done_per_s"] > 0
    assert figs["non_200"] == 0

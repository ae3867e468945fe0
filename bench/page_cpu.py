"""Server CPU per history page, requests one at a time: for comparing two checkouts.

`hubbub bench history` offers pages at a rate and reports latency under that load,
which on a shared two-core machine moves with whatever else runs. This asks for pages
one after another and divides the server process's CPU time (user + system, from
/proc) by their number, a figure the machine's other work moves much less. It starts
`hubbub serve` (with `--pythonpath`, from another checkout's `src`), registers two
users, sends 400 messages to their private conversation, asks for 100 pages to warm
up, then `--pages` pages of 50 before a random message. Run it for each checkout in
turn, several times, and compare medians:

    python bench/page_cpu.py --pythonpath <previous release>/src
    python bench/page_cpu.py
    python bench/page_cpu.py --backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from hubbub_bench.servers import (
    HUBBUB_BENCH_ENV,
    PG_ADMIN_URL_DEFAULT,
    create_database,
    drop_database,
)

DATABASE = f"hubbub_page_cpu_{uuid.uuid4().hex[:8]}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_env(args: argparse.Namespace, data_dir: str, port: int) -> dict[str, str]:
    env = dict(os.environ, HUBBUB_DATA_DIR=data_dir, HUBBUB_PORT=str(port), **HUBBUB_BENCH_ENV)
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    if args.backend == "postgresql":
        url = asyncio.run(create_database(PG_ADMIN_URL_DEFAULT, DATABASE))
        env["HUBBUB_DATABASE_URL"] = url
        command = [sys.executable, "-m", "hubbub", "migrate"]
        subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603
    return env


def measure(http: httpx.Client, pid: int, pages: int) -> dict[str, float]:
    users = []
    for _ in range(2):
        name = f"page_cpu_{uuid.uuid4().hex[:8]}"
        body = {"username": name, "email": f"{name}@example.com", "password": "x" * 16}
        r = http.post("/auth/register", json=body)
        r.raise_for_status()
        users.append(r.json())
    headers = [{"Authorization": f"Bearer {u['token']}"} for u in users]
    body = {"type": "PRIVATE", "participantIds": [users[1]["user"]["id"]]}
    r = http.post("/conversations", headers=headers[0], json=body)
    r.raise_for_status()
    path = f"/conversations/{r.json()['conversation']['id']}/messages"
    ids = []
    for n in range(400):
        r = http.post(path, headers=headers[n % 2], json={"content": f"message {n} " + "x" * 80})
        r.raise_for_status()
        ids.append(r.json()["message"]["id"])
    draw = random.Random(1)

    def page() -> float:
        started = time.perf_counter()
        params = {"limit": 50, "before": draw.choice(ids[50:])}
        http.get(path, headers=headers[0], params=params).raise_for_status()
        return time.perf_counter() - started

    for _ in range(100):
        page()
    before = cpu_seconds(pid)
    latencies = sorted(page() for _ in range(pages))
    spent = cpu_seconds(pid) - before
    return {
        "server_cpu_ms_per_page": round(spent / pages * 1000, 3),
        "latency_p25_ms": round(latencies[pages // 4] * 1000, 2),
        "latency_p50_ms": round(latencies[pages // 2] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--pythonpath", help="the server's source, e.g. another checkout's src")
    args = parser.parse_args()
    port = random.randrange(20_000, 30_000)
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(args, data_dir, port)
        server = subprocess.Popen([sys.executable, "-m", "hubbub", "serve"], env=env)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        http.get("/healthz").raise_for_status()
                        break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline or server.poll() is not None:
                            raise
                        time.sleep(0.2)
                print(json.dumps(measure(http, server.pid, args.pages)))
        finally:
            server.terminate()
            server.wait()
            if args.backend == "postgresql":
                asyncio.run(drop_database(PG_ADMIN_URL_DEFAULT, DATABASE))


if __name__ == "__main__":
    main()

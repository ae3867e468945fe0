"""The work of one conversation-list page in process: for comparing two checkouts.

`hubbub bench conversations` times pages over HTTP at a rate, which on a shared
two-core machine moves with whatever else runs (on some machines a loop of plain
Python takes anywhere from one to two times as long from one second to the next). This
asks `ConversationQueries.list_for` for pages of 100 in process, the services built as
`hubbub serve` builds them, and reports the CPU per page; with `--callgrind` it counts
the instructions per page under valgrind instead, which the machine's other work does
not move: the difference between a run of `--pages` pages and one of a quarter as
many, each after the same warm-up, divided by the pages between them.

It starts `hubbub serve` on an embedded database of its own, registers 20 users and
makes 200 groups of all of them with 3 messages each (the `conversations` scenario's
layout), stops the server, then measures. Run it for each checkout in turn:

    python bench/list_cpu.py --pythonpath <previous release>/src --callgrind
    python bench/list_cpu.py --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid

from hubbub.compose import build_services
from hubbub.config import Settings
from hubbub_bench.http import HttpPool
from hubbub_bench.servers import HUBBUB_BENCH_ENV, wait_healthy
from hubbub_bench.setup import bounded, create_group, post_messages, register_users

USERS, GROUPS, MESSAGES, PAGE, WARMUP = 20, 200, 3, 100, 10


async def populate(port: int) -> list[str]:
    """The users' ids, once their groups and messages are made (as the `conversations`
    scenario makes them)."""
    pool = HttpPool("127.0.0.1", port)
    try:
        users = await register_users(pool, USERS)

        async def make(i: int) -> None:
            owner = users[i % USERS]
            others = [u for u in users if u is not owner]
            conversation_id = await create_group(pool, owner, others, f"list {i}")
            await post_messages(pool, users[(i + 1) % USERS], conversation_id, MESSAGES)

        await bounded(GROUPS, 8, make)
    finally:
        pool.close()
    return [user.id for user in users]


def serve_and_populate(env: dict[str, str]) -> list[str]:
    port = int(env["HUBBUB_PORT"])
    server = subprocess.Popen(
        [sys.executable, "-m", "hubbub", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        asyncio.run(wait_healthy("127.0.0.1", port, server))
        return asyncio.run(populate(port))
    finally:
        server.terminate()
        server.wait()


async def measure(user_ids: list[str], pages: int) -> dict[str, float]:
    """In this process: the services as the server builds them, then `pages` pages."""
    services = build_services(Settings())
    services.db.start()
    users = [uuid.UUID(u) for u in user_ids]
    queries = services.conversation_queries
    try:
        for n in range(WARMUP + pages):
            if n == WARMUP:
                started = time.process_time()
            page = await queries.list_for(users[n % USERS], limit=PAGE, before=None, archived=False)
            page.json()
        spent = time.process_time() - started
    finally:
        await services.close()
    return {"pages": pages, "cpu_ms_per_page": round(spent / pages * 1000, 3)}


def instructions(env: dict[str, str], user_ids: list[str], pages: int) -> int:
    """Instructions of a measuring process of `pages` pages, counted by callgrind."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/callgrind.out",
            sys.executable,
            __file__,
            "--measure",
            ",".join(user_ids),
            "--pages",
            str(pages),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no count from callgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--pythonpath", help="the code's source, e.g. another checkout's src")
    parser.add_argument("--callgrind", action="store_true", help="count instructions")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the measuring process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure.split(","), args.pages))))
        return
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(
            os.environ,
            **HUBBUB_BENCH_ENV,
            HUBBUB_DATA_DIR=data_dir,
            HUBBUB_PORT=str(random.randrange(20_000, 30_000)),
            HUBBUB_JWT_SECRET=uuid.uuid4().hex * 2,
        )
        if args.pythonpath:
            env["PYTHONPATH"] = args.pythonpath
        user_ids = serve_and_populate(env)
        if not args.callgrind:
            command = [sys.executable, __file__, "--measure", ",".join(user_ids)]
            command += ["--pages", str(args.pages)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
            print(done.stdout.strip())
            return
        short = max(1, args.pages // 4)
        counts = {pages: instructions(env, user_ids, pages) for pages in (short, args.pages)}
        per_page = (counts[args.pages] - counts[short]) / (args.pages - short)
        print(json.dumps({"instructions_per_page": round(per_page), "runs": counts}))


if __name__ == "__main__":
    main()

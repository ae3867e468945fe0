"""What a read on the driver costs with its connection checked out of the pool for it,
and with one kept for the reads (`hubbub.store.read_connections`), in process CPU.

Opens an empty database of its own (a file for SQLite; a database made for the run and
dropped after on PostgreSQL, `--postgres` naming the server), then times `--reads`
handshake reads of one user's conversations (`hubbub.store.handshake_reads`) each
way, after as many to warm up, one at a time, and prints µs of CPU per read:

    python bench/read_checkout_cpu.py
    python bench/read_checkout_cpu.py --backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from hubbub.store.database import open_database
from hubbub.store.handshake_reads import conversation_ids_of
from hubbub.store.models import Base
from hubbub.store.read_connections import DriverReads


async def cpu_per_read(reads: DriverReads, count: int) -> float:
    user = uuid.uuid4()
    for _ in range(count):
        await conversation_ids_of(reads, user)
    started = time.process_time()
    for _ in range(count):
        await conversation_ids_of(reads, user)
    return (time.process_time() - started) / count * 1e6


async def measure(url: str, count: int) -> dict[str, float]:
    db = open_database(url)
    pooled = DriverReads(db.read_engine, shared=False, keep=0)
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        return {
            "checked_out_us": round(await cpu_per_read(pooled, count), 1),
            "kept_us": round(await cpu_per_read(db.driver_reads, count), 1),
        }
    finally:
        await pooled.close()
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--reads", type=int, default=3000)
    args = parser.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hubbub-reads-") as tmp:
            result = await measure(f"sqlite:///{Path(tmp) / 'reads.db'}", args.reads)
    else:
        name = f"hubbub_reads_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(f"{args.postgres}/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            result = await measure(f"{args.postgres}/{name}", args.reads)
        finally:
            await admin.execute(f'DROP DATABASE "{name}"')
            await admin.close()
    print(json.dumps({"backend": args.backend, "cpu_per_read": result}))


if __name__ == "__main__":
    asyncio.run(main())

"""`hubbub port-db --to postgresql://…`: an embedded instance's database into PostgreSQL.

Every table, parents first, is read from one snapshot of the SQLite database in pages
by primary key and written to the target a batch per transaction, each batch an insert
that skips rows already there: a run cut short (Ctrl-C, a lost connection,
`--max-batches`) and run again ends with what one clean run gives. The target must be
empty, or hold only an earlier run's rows (every user and conversation in it also in
the source); it is migrated to this release's schema first. Then the two are compared:
row counts per table, and each conversation's numbering (last seq handed out, message
count) beside its messages'. Keys are UUIDs, so PostgreSQL has no sequences to set.
Stop the server first: what it writes after the snapshot is not copied.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import inspect

from hubbub.config import Settings
from hubbub.ops.report import Output, Progress, Refused, Stopped
from hubbub.store.copying import (
    count,
    ids_of,
    insert_rows,
    numbering,
    numbering_problems,
    pages,
    repeatable_reads,
    tables_in_order,
)
from hubbub.store.database import Database, open_database
from hubbub.store.engines import capabilities_of
from hubbub.store.migrate import current_revision, head_revision, upgrade_to_head


async def port_db(settings: Settings, args: argparse.Namespace) -> Output:
    source_url = settings.effective_database_url
    if not capabilities_of(source_url).embedded:
        raise Refused("not_embedded", "port-db copies the embedded SQLite database; this "
                      "server's database is not one")  # fmt: skip
    if settings.sqlite_path is None or not settings.sqlite_path.is_file():
        raise Refused("no_database", f"there is no database at {settings.sqlite_path}")
    try:
        target_caps = capabilities_of(args.to)
    except ValueError:
        target_caps = None
    if target_caps is None or target_caps.embedded:
        raise Refused("invalid_target", "--to must be a postgresql:// URL")
    if args.batch_size < 1 or (args.max_batches is not None and args.max_batches < 1):
        raise Refused("invalid_batch", "--batch-size and --max-batches must be at least 1")
    if await current_revision(source_url) != head_revision():
        raise Refused("not_migrated", "the embedded database is not at this release's "
                      "schema: run hubbub migrate first")  # fmt: skip
    source = open_database(source_url, pool_size=1)
    target = open_database(args.to, pool_size=2)
    try:
        await _prepare_target(source, target, args.to)
        with Progress("port-db") as progress:
            batches = await _copy(source, target, args, progress)
        return await _verify(source, target, complete=batches is None)
    finally:
        await source.dispose()
        await target.dispose()


async def _prepare_target(source: Database, target: Database, url: str) -> None:
    try:
        async with target.read_engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    except Exception as exc:  # whatever the driver raises: the operator needs the reason
        raise Refused("unreachable", f"cannot reach the target database ({exc})") from None
    if names and "alembic_version" not in names:
        raise Refused("not_empty", "the target database holds other tables: give an empty one")
    if names and await current_revision(url) != head_revision():
        raise Refused("not_migrated", "the target database is at another hubbub schema")
    if not names:
        await upgrade_to_head(url)
        return
    # Rows of an earlier run are the source's own; anything else is someone's data.
    async with source.read() as src, target.read() as dst:
        for table in tables_in_order(("users", "conversations")):
            theirs = set((await dst.scalars(table.select().with_only_columns(table.c.id))).all())
            if theirs - await ids_of(src, table, theirs):
                raise Refused(
                    "not_empty",
                    f"the target database holds {table.name} that are not this instance's: "
                    "give an empty database",
                )


async def _copy(
    source: Database, target: Database, args: argparse.Namespace, progress: Progress
) -> int | None:
    """Copy every table; the number of batches written when `--max-batches` stopped
    the run, None when it is complete."""
    batches = 0
    async with source.read() as snapshot:
        await repeatable_reads(snapshot)
        for table in tables_in_order():
            total = await count(snapshot, table)
            with progress.step(table.name, total) as step:
                async for page in pages(snapshot, table, args.batch_size):
                    async with target.write() as session:
                        await insert_rows(session, table, page)
                    step.advance(len(page))
                    batches += 1
                    if args.max_batches is not None and batches >= args.max_batches:
                        raise Stopped(
                            f"stopped after {batches} batches as asked; run the same "
                            "command again to finish",
                            {"complete": False, "batches": batches},
                        )
    return None


async def _verify(source: Database, target: Database, *, complete: bool) -> Output:
    counts: dict[str, Any] = {}
    differences: list[str] = []
    async with source.read() as src, target.read() as dst:
        await repeatable_reads(dst)
        for table in tables_in_order():
            mine, theirs = await count(src, table), await count(dst, table)
            counts[table.name] = {"source": mine, "target": theirs}
            if mine != theirs:
                differences.append(f"{table.name}: {mine} rows here, {theirs} in the target")
        here, there = await numbering(src), await numbering(dst)
    for cid in sorted(set(here) | set(there), key=str):
        if here.get(cid) != there.get(cid):
            differences.append(f"conversation {cid}: numbering {here.get(cid)} here, "
                               f"{there.get(cid)} in the target")  # fmt: skip
    differences += numbering_problems(there)
    report = {"complete": complete, "counts": counts, "differences": differences}
    if differences:
        raise Refused("differs", "copied, but the target differs: " + "; ".join(differences))
    rows = sum(c["target"] for c in counts.values())
    return f"copied {rows} rows; counts and numbering verified", report

"""`hubbub export --out DIR [--conversation ID ...]` and `hubbub import DIR`: whole
conversations, or the whole server, as JSON Lines with their attachments.

The export directory holds one `<table>.jsonl` per content table (users, spaces and
their members, conversations, participants, messages, reactions, files and which
message carries which), each row as `hubbub.store.copying.to_json` writes it with its
id, the attachments' bytes under `uploads/` by their storage keys, and `manifest.json`,
written last: a directory without it is an export cut short, and running the export
again rewrites it. A conversation's export takes every user it names (with password
hashes: keep the directory private) and the space it is in.

The import copies the bytes first, then the rows, parents first, a batch per
transaction, skipping rows whose id is already there: running it twice changes nothing
the second time, and an import cut short finishes when run again. It refuses, before
changing anything, an export of another schema, and one whose users, files or private
conversations collide with different rows of this server (the same username, email,
storage key or pair under another id).
"""

from __future__ import annotations

import argparse
import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hubbub import __version__
from hubbub.config import Settings
from hubbub.ops.report import Output, Progress, Refused
from hubbub.store.blobs import is_storage_key
from hubbub.store.copying import (
    CONTENT_TABLES,
    conversation_subset,
    count,
    from_json,
    ids_of,
    insert_rows,
    pages,
    repeatable_reads,
    tables_in_order,
    to_json,
)
from hubbub.store.database import Database, open_database
from hubbub.store.migrate import current_revision, head_revision
from hubbub.store.models import Base

FORMAT = "hubbub-jsonl/1"
MARKER = ".hubbub-export"
BATCH = 500
# Unique columns besides the id: a row of the export taking one of these from another
# row of this server would be skipped, and everything pointing at it broken.
UNIQUE = {"users": ("username_key", "email"), "files": ("storage_key",),
          "conversations": ("private_pair_key",)}  # fmt: skip


async def export(settings: Settings, args: argparse.Namespace) -> Output:
    out = Path(args.out)
    try:
        chosen = [uuid.UUID(c) for c in args.conversation or []]
    except ValueError:
        raise Refused("invalid_conversation", "--conversation takes conversation ids") from None
    db = open_database(settings.effective_database_url, pool_size=1)
    try:
        conversations = Base.metadata.tables["conversations"]
        async with db.read() as session:
            missing = set(chosen) - await ids_of(session, conversations, chosen)
        if missing:
            raise Refused("not_found", f"no conversation {sorted(map(str, missing))[0]} here")
        _claim(out)
        with Progress("export") as progress:
            counts = await _export_rows(db, settings.data_dir, out, chosen, progress)
        manifest = {
            "format": FORMAT,
            "version": __version__,
            "migrationHead": await current_revision(settings.effective_database_url),
            "createdAt": datetime.now(UTC).isoformat(),
            "conversations": [str(c) for c in chosen] or None,
            "counts": counts,
        }
    finally:
        await db.dispose()
    _write_atomically(out / "manifest.json", json.dumps(manifest, indent=1))
    what = f"{len(chosen)} conversation(s)" if chosen else "the whole server"
    rows = ", ".join(f"{n} {t}" for t, n in counts.items())
    return f"exported {what} to {out}: {rows}", {"path": str(out), "manifest": manifest}


def _claim(out: Path) -> None:
    """Make the directory an export's: new, empty, or an earlier export (rewritten)."""
    if out.exists() and not out.is_dir():
        raise Refused("invalid_out", f"{out} is a file: export into a new directory")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise Refused("out_not_empty", f"{out} holds other files: export into a new directory")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).touch()
    (out / "manifest.json").unlink(missing_ok=True)  # incomplete until written again


async def _export_rows(
    db: Database, data_dir: Path, out: Path, chosen: list[uuid.UUID], progress: Progress
) -> dict[str, int]:
    subset = conversation_subset(chosen) if chosen else {}
    counts: dict[str, int] = {}
    keys: list[str] = []
    async with db.read() as session:
        await repeatable_reads(session)  # every table from one snapshot
        for table in tables_in_order(CONTENT_TABLES):
            where = subset.get(table.name)
            part = out / f"{table.name}.jsonl.part"
            _append_lines(part, [], start=True)
            counts[table.name] = 0
            with progress.step(table.name, await count(session, table, where)) as step:
                async for page in pages(session, table, BATCH, where):
                    _append_lines(part, page)
                    if table.name == "files":
                        keys += [k for r in page for k in _keys_of(r)]
                    step.advance(len(page))
                    counts[table.name] += len(page)
            part.replace(out / f"{table.name}.jsonl")
    with progress.step("attachments", len(keys)) as step:
        for key in keys:
            _copy_blob(data_dir, out, key)
            step.advance()
    return counts


def _keys_of(row: dict[str, Any]) -> list[str]:
    return [k for k in (row["storage_key"], row["thumbnail_key"]) if k]


def _copy_blob(source_root: Path, target_root: Path, key: str) -> bool:
    """Copy one stored file unless the target has it; False when the source lacks it."""
    source, target = source_root / key, target_root / key
    if not is_storage_key(key) or not source.is_file():
        return False
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return True
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return True


def _append_lines(path: Path, rows: list[dict[str, Any]], *, start: bool = False) -> None:
    with path.open("w" if start else "a", encoding="utf-8") as lines:
        lines.writelines(json.dumps(to_json(row)) + "\n" for row in rows)


def _write_atomically(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)


def _rows(path: Path) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            batch.append(json.loads(line))
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


async def import_(settings: Settings, args: argparse.Namespace) -> Output:
    source = Path(args.dir)
    manifest = _manifest_of(source)
    url = settings.effective_database_url
    if manifest.get("migrationHead") != head_revision():
        raise Refused("other_schema", f"{source} was exported at schema "
                      f"{manifest.get('migrationHead')}, this release has {head_revision()}: "
                      "export it again with this release")  # fmt: skip
    db = open_database(url, pool_size=2)
    try:
        await _check_fits(db, source)
        with Progress("import") as progress:
            counts = await _import(db, settings.data_dir, source, progress)
    finally:
        await db.dispose()
    added = sum(c["added"] for c in counts.values())
    text = ", ".join(f"{c['added']}/{c['rows']} {t}" for t, c in counts.items())
    line = f"imported {source}: {text} added" if added else f"{source}: everything was here"
    return line, {"added": added, "tables": counts}


def _manifest_of(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused("invalid_export", f"{source} is not a complete hubbub export "
                      "(no manifest: export it again)")  # fmt: skip
    for name in CONTENT_TABLES:
        if not (source / f"{name}.jsonl").is_file():
            raise Refused("invalid_export", f"{source} lacks {name}.jsonl")
    return manifest


async def _check_fits(db: Database, source: Path) -> None:
    """Refuse, before any change, rows that would collide with others of this server."""
    async with db.read() as session:
        for name, columns in UNIQUE.items():
            table = Base.metadata.tables[name]
            for batch in _rows(source / f"{name}.jsonl"):
                for column in columns:
                    wanted = {r[column]: r["id"] for r in batch if r.get(column) is not None}
                    query = select(table.c.id, table.c[column]).where(
                        table.c[column].in_(list(wanted))
                    )
                    for found_id, value in await session.execute(query):
                        if str(found_id) != wanted[value]:
                            raise Refused("conflict", f"{name} {column} {value!r} is another "
                                          "row's on this server: nothing was imported")  # fmt: skip


async def _import(
    db: Database, data_dir: Path, source: Path, progress: Progress
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    files = [r for b in _rows(source / "files.jsonl") for r in b]
    keys = [k for r in files for k in _keys_of(r)]
    # The bytes before the rows: a file's row never exists without them.
    with progress.step("attachments", len(keys)) as step:
        for key in keys:
            _copy_blob(source, data_dir, key)
            step.advance()
    for table in tables_in_order(CONTENT_TABLES):
        async with db.read() as session:
            before = await count(session, table)
        rows = 0
        path = source / f"{table.name}.jsonl"
        with progress.step(table.name) as step:
            for batch in _rows(path):
                try:
                    typed = [from_json(table, r) for r in batch]
                except (ValueError, TypeError, KeyError) as exc:
                    raise Refused("invalid_export", f"{path}: {exc}") from None
                async with db.write() as session:
                    await insert_rows(session, table, typed)
                rows += len(batch)
                step.advance(len(batch))
        async with db.read() as session:
            counts[table.name] = {"rows": rows, "added": await count(session, table) - before}
    return counts

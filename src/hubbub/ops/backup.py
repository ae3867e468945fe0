"""`hubbub backup` and `hubbub restore`: an embedded instance as one archive, and back.

The backup is a tar archive: `manifest.json` (format, hubbub's version, the migration
head, row counts per table, the uploads' count and bytes), `hubbub.db` (a consistent
copy made by SQLite's online backup API while the server may be running: one read
snapshot, writers are not held up under WAL), `signing.key` when the data directory
has one, and every stored upload under `uploads/`. It is written to `FILE.part` and
renamed when complete, so an interrupted backup leaves no archive that looks whole.
A restore unpacks into a directory beside the target and renames it into place: the
target is either absent (or empty) or complete. PostgreSQL is backed up with its own
tools (`pg_dump`; README, "Operating hubbub").
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubbub import __version__
from hubbub.config import PRIVATE_DIR, Settings
from hubbub.ops.report import Output, Progress, Refused
from hubbub.store.blobs import is_storage_key
from hubbub.store.copying import CONTENT_TABLES
from hubbub.store.engines import capabilities_of

FORMAT = "hubbub-backup/1"
DATABASE = "hubbub.db"
KEY_FILE = "signing.key"


def backup(settings: Settings, args: argparse.Namespace) -> Output:
    if not capabilities_of(settings.effective_database_url).embedded:
        raise Refused(
            "not_embedded",
            "hubbub backup copies the embedded SQLite database; this server's database is "
            "PostgreSQL: back it up with pg_dump (README, Operating hubbub) and copy the "
            "uploads directory beside it",
        )
    database = settings.sqlite_path
    if database is None or not database.is_file():
        raise Refused("no_database", f"there is no database at {database} to back up")
    out = Path(args.out)
    if out.exists():
        raise Refused("out_exists", f"{out} exists: remove it or choose another file")
    if not out.parent.is_dir():
        raise Refused("invalid_out", f"cannot write {out}: {out.parent} is not a directory")
    uploads = _uploads(settings.data_dir)
    part = out.with_name(out.name + ".part")
    with Progress("backup") as progress, tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        copy = Path(tmp) / DATABASE
        with progress.step("database pages") as step:
            _copy_database(database, copy, step.advance)
        manifest = _manifest(copy, uploads)
        with tarfile.open(part, "w") as archive, progress.step("uploads", len(uploads)) as step:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
            archive.add(copy, DATABASE)
            key_file = settings.data_dir / KEY_FILE
            if key_file.is_file():
                archive.add(key_file, KEY_FILE)
            for key, path in uploads:
                archive.add(path, key)
                step.advance()
        part.replace(out)
    counts = ", ".join(f"{n} {t}" for t, n in manifest["counts"].items() if n)
    return f"wrote {out}: {counts or 'no rows'}; {len(uploads)} uploads", {
        "path": str(out.resolve()),
        "manifest": manifest,
    }


def _copy_database(database: Path, copy: Path, advance: Any) -> None:
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        # One step: the whole copy under one read snapshot. (Steps of some pages would
        # start over at every write the server commits between them, and a busy server
        # might never let the copy end.) Under WAL the server's writers go on meanwhile.
        source.backup(target, pages=-1, progress=lambda _s, _r, total: advance(total))
    finally:
        target.close()
        source.close()


def _uploads(data_dir: Path) -> list[tuple[str, Path]]:
    root = data_dir / "uploads"
    found = []
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        key = path.relative_to(data_dir).as_posix()
        if path.is_file() and is_storage_key(key):
            found.append((key, path))
    return found


def _manifest(copy: Path, uploads: list[tuple[str, Path]]) -> dict[str, Any]:
    with sqlite3.connect(copy) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        counts = {
            t: int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])  # noqa: S608
            for t in CONTENT_TABLES
            if t in names
        }
        head = db.execute("SELECT version_num FROM alembic_version").fetchone()
    db.close()
    return {
        "format": FORMAT,
        "version": __version__,
        "createdAt": datetime.now(UTC).isoformat(),
        "migrationHead": head[0] if head else None,
        "counts": counts,
        "uploads": {"count": len(uploads), "bytes": sum(p.stat().st_size for _, p in uploads)},
    }


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def restore(settings: Settings, args: argparse.Namespace) -> Output:
    if settings.database_url is not None:
        raise Refused(
            "database_url_set",
            "restore makes an embedded instance with its database in the data directory: "
            "unset HUBBUB_DATABASE_URL",
        )
    source = Path(args.file)
    target = settings.data_dir
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Refused("not_empty", f"{target} is not an empty directory: restore into a new one")
    staging = target.parent / f".{target.name}.restoring"
    try:
        with tarfile.open(source, "r") as archive, Progress("restore") as progress:
            manifest = _read_manifest(archive, source)
            members = _checked_members(archive, source)
            shutil.rmtree(staging, ignore_errors=True)  # what an interrupted restore left
            staging.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            staging.mkdir(mode=PRIVATE_DIR)
            with progress.step("files", len(members)) as step:
                for member in members:
                    _extract(archive, member, staging)
                    step.advance()
    except (OSError, tarfile.TarError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise Refused("invalid_backup", f"cannot restore from {source}: {exc}") from None
    if target.exists():
        target.rmdir()
    staging.rename(target)
    line = (
        f"restored {source} into {target} (hubbub {manifest.get('version')}, "
        f"migration {manifest.get('migrationHead')}): serve it with HUBBUB_DATA_DIR={target}"
    )
    return line, {"dataDir": str(target.resolve()), "manifest": manifest}


def _read_manifest(archive: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        read = archive.extractfile("manifest.json")
        manifest = json.loads(read.read()) if read is not None else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused("invalid_backup", f"{source} is not a hubbub backup (no manifest)")
    return manifest


def _checked_members(archive: tarfile.TarFile, source: Path) -> list[tarfile.TarInfo]:
    """Only what a backup holds: regular files by the names it gives them."""
    members = archive.getmembers()
    for member in members:
        known = member.name in ("manifest.json", DATABASE, KEY_FILE)
        if not member.isfile() or not (known or is_storage_key(member.name)):
            raise Refused("invalid_backup", f"{source} holds {member.name!r}, not a backup's")
    if DATABASE not in {m.name for m in members}:
        raise Refused("invalid_backup", f"{source} holds no database")
    return [m for m in members if m.name != "manifest.json"]


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    path = root / member.name
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    read = archive.extractfile(member)
    if read is None:
        return
    with read, path.open("wb") as out:
        shutil.copyfileobj(read, out)

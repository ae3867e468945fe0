"""Download my data: a JSON export of one's profile, messages and files, made in the
background.

Edge (`POST|GET /users/me/export`, `GET /users/me/export/{id}`) -> here -> the export
queries. `start` launches an asyncio task on this node that writes
`<data dir>/exports/<user id>/<export id>.json.part` page by page and renames it to
`.json` when complete; the file holds the profile, every message the user sent that is
not deleted (with its conversation's id, name and type) and their files' metadata with
signed download links. The task lives as long as the process: an export cut short by a
restart shows `failed`, and asking again starts a new one. Only the latest export is
kept, and only its owner can read it (the path comes from the caller's own id).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

from hubbub.actions.budgets import Budgets
from hubbub.config import Budget
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import new_id, utcnow
from hubbub.queries.export import ExportQueries
from hubbub.wire.account import ExportState
from hubbub.wire.fields import iso_utc

log = logging.getLogger("hubbub.export")

FORMAT = "hubbub-export/1"


def _not_found() -> NotFound:
    return NotFound("Export not found", code="export_not_found")


class DataExports:
    def __init__(self, queries: ExportQueries, data_dir: Path, budgets: Budgets) -> None:
        self._queries = queries
        self._root = data_dir / "exports"
        self._budgets = budgets
        self._running: dict[uuid.UUID, tuple[uuid.UUID, asyncio.Task[None]]] = {}
        self._failed: set[uuid.UUID] = set()

    async def start(self, user_id: uuid.UUID) -> ExportState:
        """Start an export, unless one is already running (then: that one)."""
        if user_id in self._running:
            return self.state(user_id)
        await self._budgets.take(Budget.EXPORT, user_id)
        export_id = new_id()
        self._failed.discard(user_id)
        task = asyncio.create_task(self._run(user_id, export_id))
        self._running[user_id] = (export_id, task)
        task.add_done_callback(lambda _: self._running.pop(user_id, None))
        return self.state(user_id)

    def state(self, user_id: uuid.UUID) -> ExportState:
        running = self._running.get(user_id)
        if running is not None:
            return ExportState(status="running", id=running[0])
        folder = self._root / user_id.hex
        if user_id in self._failed or any(folder.glob("*.json.part")):
            return ExportState(status="failed")
        for done in folder.glob("*.json"):
            export_id = uuid.UUID(done.name.removesuffix(".json"))
            return ExportState(
                status="ready",
                id=export_id,
                url=f"/users/me/export/{export_id}",
                size=done.stat().st_size,
            )
        return ExportState(status="none")

    def file_of(self, user_id: uuid.UUID, export_id: uuid.UUID) -> Path:
        """The caller's ready export; anyone else's, or one not ready, is not found."""
        path = self._root / user_id.hex / f"{export_id}.json"
        if not path.is_file():
            raise _not_found()
        return path

    async def _run(self, user_id: uuid.UUID, export_id: uuid.UUID) -> None:
        folder = self._root / user_id.hex
        part = folder / f"{export_id}.json.part"
        try:
            await asyncio.to_thread(_fresh_folder, folder)
            await self._write(user_id, part)
            await asyncio.to_thread(_publish, part, folder / f"{export_id}.json")
        except asyncio.CancelledError:
            await asyncio.to_thread(part.unlink, missing_ok=True)
            raise
        except Exception:
            log.exception("data export for user %s failed", user_id)
            self._failed.add(user_id)
            await asyncio.to_thread(part.unlink, missing_ok=True)

    async def write_file(self, user_id: uuid.UUID, path: Path) -> int:
        """The same export, written now to `path` (the operator's `hubbub user export`):
        complete or not there at all. Its size in bytes."""
        part = path.with_name(path.name + ".part")
        try:
            await self._write(user_id, part)
            await asyncio.to_thread(part.replace, path)
        finally:
            await asyncio.to_thread(part.unlink, missing_ok=True)
        return (await asyncio.to_thread(path.stat)).st_size

    async def _write(self, user_id: uuid.UUID, part: Path) -> None:
        profile = await self._queries.profile(user_id)
        head = (
            f'{{"format":"{FORMAT}","exportedAt":"{iso_utc(utcnow())}",'
            f'"profile":{profile.model_dump_json(by_alias=True)},"messages":['
        )
        await asyncio.to_thread(part.write_text, head, "utf-8")
        first = True
        async for page in self._queries.messages(user_id):
            chunk = ",".join(m.model_dump_json(by_alias=True) for m in page)
            await asyncio.to_thread(_append, part, ("" if first else ",") + chunk)
            first = False
        stored = await self._queries.files(user_id)
        files = ",".join(f.model_dump_json(by_alias=True) for f in stored)
        await asyncio.to_thread(_append, part, f'],"files":[{files}]}}')

    async def close(self) -> None:
        for _, task in list(self._running.values()):
            task.cancel()


def _fresh_folder(folder: Path) -> None:
    """Stale parts of exports cut short go; the last complete export stays until the new
    one is."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.json.part"):
        stale.unlink(missing_ok=True)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(text)


def _publish(part: Path, final: Path) -> None:
    part.replace(final)
    for older in final.parent.glob("*.json"):
        if older != final:
            older.unlink(missing_ok=True)

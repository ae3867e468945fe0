"""File bytes: the other half of storage, beside the `files` table.

`FileService` (hubbub.actions.files) keeps a file's metadata in the database and its
bytes here, under a storage key this module makes up (`uploads/ab/<32 hex>`): no name
or path from a client ever reaches the filesystem. `BlobStore` is the small seam a
remote backend could implement later; `LocalBlobStore` keeps blobs under the data dir.
Every method that touches the disk runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger("hubbub.blobs")

# The only keys this store reads or writes: what `new_key` makes (plus a thumbnail suffix).
_KEY = re.compile(r"uploads/[0-9a-f]{2}/[0-9a-f]{32}(-thumb)?")
# Temp files older than this are leftovers of a crashed process, never an upload in flight.
_STALE_TEMP_S = 24 * 3600


class BlobStore(Protocol):
    def new_key(self) -> str:
        """A fresh, server-made storage key."""
        ...

    def temp_dir(self) -> Path:
        """Where uploads are received before they are stored (same filesystem as the store)."""
        ...

    async def put_file(self, key: str, source: Path) -> None:
        """Store a finished temp file under `key`, moving it (the temp file is gone after)."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> None: ...

    async def local_path(self, key: str) -> Path | None:
        """The file holding `key`'s bytes, to be served; None when it is missing."""
        ...

    async def delete(self, key: str) -> None: ...


def is_storage_key(key: str) -> bool:
    """Whether `key` (a path under the data dir) is one this store made."""
    return _KEY.fullmatch(key) is not None


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not a storage key made by this store")
    return key


class LocalBlobStore:
    """Blobs as files under `<data dir>/uploads`, written durably (fsync) before use."""

    def __init__(self, data_dir: Path) -> None:
        self._root = data_dir.resolve()

    def new_key(self) -> str:
        # Random, not the file id: ids are time-ordered and would pile into one folder.
        name = secrets.token_hex(16)
        return f"uploads/{name[:2]}/{name}"

    def temp_dir(self) -> Path:
        return self._root / "uploads" / "tmp"

    def _path(self, key: str) -> Path:
        return self._root / _checked(key)

    async def put_file(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._move_in, self._path(key), source)

    async def put_bytes(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if await asyncio.to_thread(path.is_file) else None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def sweep_temp(self) -> int:
        """Remove temp files a crashed process left behind; returns how many."""
        removed = 0
        cutoff = time.time() - _STALE_TEMP_S
        try:
            leftovers = list(self.temp_dir().iterdir())
        except FileNotFoundError:
            return 0
        for path in leftovers:
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                log.warning("could not remove a stale upload temp file", exc_info=True)
        return removed

    @staticmethod
    def _move_in(target: Path, source: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        _fsync_dir(target.parent)

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with partial.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
        _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is; the row is committed after.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The embedded default's WAL checkpointer (`hubbub.store.sqlite_driver.Checkpointer`):
stopped again and again while checkpoints run on its thread (every_s=0), it leaves the
WAL empty each time. (The race it guards against, a stop closing the connection under a
running checkpoint, is rare: this does not reproduce it on demand.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from hubbub.store.sqlite_driver import Checkpointer

pytestmark = pytest.mark.sqlite_only


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_stopping_while_checkpoints_run_leaves_the_wal_empty(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    # The writer stays open (the last connection to close would remove the WAL itself)
    # and never checkpoints: only the checkpointer does, as on a serving node.
    writer = sqlite3.connect(path)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE t (v TEXT)")
        wal = Path(str(path) + "-wal")
        for _ in range(40):
            writer.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 200)
            writer.commit()
            assert _size(wal) > 0
            checkpointer = Checkpointer(str(path), every_s=0)
            checkpointer.start()
            # Let checkpoints start on their thread, then stop in the middle of one.
            await asyncio.sleep(0.002)
            await checkpointer.stop()
            assert _size(wal) == 0
        assert writer.execute("SELECT count(*) FROM t").fetchone() == (40 * 200,)
    finally:
        writer.close()

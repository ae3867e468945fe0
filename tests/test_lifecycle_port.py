"""`hubbub port-db`: a populated embedded instance copied into a fresh PostgreSQL
database (the PostgreSQL run: it needs the server), first cut short after a few
batches and then run again; a server on the copy shows the same HTTP history and
files. A target holding someone else's rows is refused.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import RUN_ID, Backend, create_pg_database, drop_pg_database
from tests.gw import start_server
from tests.lifecycle import hubbub, ok, populate, refused, snapshot

pytestmark = pytest.mark.postgres_only


async def _count(url: str, table: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608
    finally:
        await conn.close()


async def test_port_db_cut_short_then_run_again_gives_the_same_server(
    backend: Backend, tmp_path: Path
) -> None:
    embedded = {"HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.db'}"}
    server = start_server(tmp_path, embedded)
    try:
        data = await populate(server.base)
        before = await snapshot(server.base, data)
    finally:
        server.stop()
    env = server.env
    name = f"hubbub_test_{RUN_ID}_port_{secrets.token_hex(3)}"
    url = await create_pg_database(name)
    try:
        # Cut short after seven batches of five rows (exit 3), as an interrupted run:
        # the tables before `messages` are copied, and two batches of it.
        cut = hubbub(env, "port-db", "--to", url, "--batch-size", "5", "--max-batches", "7",
                     "--json", cwd=tmp_path)  # fmt: skip
        assert cut.returncode == 3, cut.stdout + cut.stderr
        assert "port-db: users: 3/3 done" in cut.stderr  # a progress line per step
        assert await _count(url, "messages") == 10
        done = ok(env, "port-db", "--to", url, "--batch-size", "5", cwd=tmp_path)
        assert done["complete"] is True
        assert done["differences"] == []
        shown = sum(len(before[c]) for c in data.conversations)
        assert done["counts"]["messages"] == {"source": shown, "target": shown}

        ported = start_server(tmp_path / "ported", env | {"HUBBUB_DATABASE_URL": url})
        try:
            assert await snapshot(ported.base, data) == before
            # The copy is now someone's server: a new user makes it another's data.
            await populate(ported.base, messages=0)
        finally:
            ported.stop()
        line = refused(env, "port-db", "--to", url, cwd=tmp_path, code="not_empty")
        assert "not this instance's" in line
    finally:
        await drop_pg_database(name)

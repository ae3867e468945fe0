"""`hubbub backup` of an embedded instance while its server runs, `hubbub restore` into a
fresh data directory, and a server started on it: every message and every file as
before, read over HTTP. On PostgreSQL the command points at pg_dump instead.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tests.conftest import JWT_SECRET, Backend
from tests.gw import serving, start_server
from tests.lifecycle import hubbub, ok, populate, refused, snapshot


@pytest.mark.sqlite_only
async def test_backup_while_serving_then_restore_gives_the_same_server(
    backend: Backend, tmp_path: Path
) -> None:
    async with serving(backend, tmp_path / "live", {}) as server:
        data = await populate(server.base)
        before = await snapshot(server.base, data)
        archive = tmp_path / "hubbub.tar"
        made = ok(server.env, "backup", "--out", str(archive), cwd=tmp_path)  # still serving
        manifest = made["manifest"]
        assert manifest["counts"]["users"] == 3
        assert manifest["counts"]["conversations"] == 2
        assert manifest["counts"]["messages"] == len(before[data.conversations[0]]) + len(
            before[data.conversations[1]]
        )
        assert manifest["uploads"]["count"] == 1
        assert manifest["migrationHead"]
        refused(server.env, "backup", "--out", str(archive), cwd=tmp_path, code="out_exists")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"manifest.json", "hubbub.db"} <= set(names)  # (no signing.key: a secret is set)
    assert [n for n in names if n.startswith("uploads/")]

    fresh = tmp_path / "restored" / "data"
    env = {"HUBBUB_DATA_DIR": str(fresh)}
    done = ok(env, "restore", str(archive), cwd=tmp_path)
    assert done["dataDir"] == str(fresh)
    # A directory holding anything is never written to.
    refused(env, "restore", str(archive), cwd=tmp_path, code="not_empty")
    elsewhere = {"HUBBUB_DATA_DIR": str(tmp_path / "other")}
    refused(elsewhere, "restore", str(tmp_path / "missing.tar"), cwd=tmp_path,
            code="invalid_backup")  # fmt: skip
    assert not (tmp_path / "other").exists()

    restored = start_server(tmp_path / "restored", {"HUBBUB_JWT_SECRET": JWT_SECRET})
    try:
        assert await snapshot(restored.base, data) == before
    finally:
        restored.stop()


@pytest.mark.postgres_only
def test_backup_on_postgresql_points_at_pg_dump(backend: Backend, tmp_path: Path) -> None:
    env = {"HUBBUB_DATABASE_URL": backend.database_url, "HUBBUB_DATA_DIR": str(tmp_path / "d")}
    line = refused(env, "backup", "--out", str(tmp_path / "b.tar"), cwd=tmp_path,
                   code="not_embedded")  # fmt: skip
    assert "pg_dump" in line
    assert not (tmp_path / "b.tar").exists()
    assert hubbub(env, "backup", cwd=tmp_path).returncode == 2  # --out is required

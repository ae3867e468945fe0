"""The `hubbub` command as a user runs it: real processes, real sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET, Backend

PYTHON = sys.executable


def run_hubbub(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    full_env.update(env or {})
    return subprocess.run(  # noqa: S603
        [PYTHON, "-m", "hubbub", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"HUBBUB_DATABASE_URL": "mysql://localhost/db"}, "HUBBUB_DATABASE_URL"),
        ({"HUBBUB_DATABASE_URL": "postgresql://127.0.0.1:1/nothing"}, "HUBBUB_DATABASE_URL"),
        ({"HUBBUB_PORT": "http"}, "HUBBUB_PORT"),
        ({"HUBBUB_REDIS_URL": "redis://127.0.0.1:6379/0"}, "HUBBUB_JWT_SECRET"),
        (
            {"HUBBUB_REDIS_URL": "http://nowhere", "HUBBUB_JWT_SECRET": JWT_SECRET},
            "HUBBUB_REDIS_URL",
        ),
        # An unreachable Redis does not stop start-up (the node starts degraded:
        # tests/test_cluster.py); a URL that cannot work does.
        ({"HUBBUB_JWT_SECRET": "short"}, "HUBBUB_JWT_SECRET"),
        ({"HUBBUB_ALLOWED_ORIGINS": "ftp://x"}, "HUBBUB_ALLOWED_ORIGINS"),
        ({"HUBBUB_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, "HUBBUB_TRUSTED_PROXIES"),
        ({"HUBBUB_BUDGETS": "reactions=10/5"}, "HUBBUB_BUDGETS"),
        ({"HUBBUB_BUDGETS": "reaction=0/5"}, "HUBBUB_BUDGETS"),
        ({"HUBBUB_LOG_FORMAT": "xml"}, "HUBBUB_LOG_FORMAT"),
        ({"HUBBUB_ACCESS_LOG": "sometimes"}, "HUBBUB_ACCESS_LOG"),
        ({"HUBBUB_METRICS_ALLOW": "10.0.0.0/8, prometheus.local"}, "HUBBUB_METRICS_ALLOW"),
        (
            {"HUBBUB_LOGIN_MAX_FAILURES_PER_IDENTIFIER": "5"},
            "HUBBUB_LOGIN_MAX_FAILURES_PER_IDENTIFIER",
        ),
    ],
)
def test_bad_setting_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], setting: str
) -> None:
    result = run_hubbub("serve", cwd=tmp_path, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr


def test_flags_override_environment(tmp_path: Path) -> None:
    result = run_hubbub(
        "serve", "--database-url", "oracle://x", cwd=tmp_path, env={"HUBBUB_DATABASE_URL": ""}
    )
    assert result.returncode == 2
    assert "HUBBUB_DATABASE_URL" in result.stderr


def test_migrate_and_createuser_on_the_embedded_default(tmp_path: Path) -> None:
    migrated = run_hubbub("migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / ".hubbub" / "hubbub.db").exists()
    created = run_hubbub(
        "createuser",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
        cwd=tmp_path,
        stdin="a long password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created user admin" in created.stdout
    again = run_hubbub(
        "createuser",
        "--username",
        "ADMIN",
        "--email",
        "x@example.com",
        cwd=tmp_path,
        stdin="a long password\n",
    )
    assert again.returncode == 1
    assert "taken" in again.stderr
    weak = run_hubbub(
        "createuser",
        "--username",
        "bob",
        "--email",
        "bob@example.com",
        cwd=tmp_path,
        stdin="short\n",
    )
    assert weak.returncode == 1
    assert "password" in weak.stderr


@contextlib.contextmanager
def serving(cwd: Path, env: dict[str, str], *, umask: int = -1) -> Iterator[str]:
    """`hubbub serve` in `cwd` with only these HUBBUB_ settings; yields its base URL."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    full_env |= env | {"HUBBUB_PORT": str(port)}
    proc = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "hubbub", "serve"],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        umask=umask,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


@pytest.fixture
def served(tmp_path: Path, backend: Backend) -> Iterator[str]:
    """`hubbub serve` with no configuration at all (SQLite run) or on this run's database."""
    env: dict[str, str] = {}
    if backend.is_postgres:
        env |= {
            "HUBBUB_DATABASE_URL": backend.database_url,
            "HUBBUB_REDIS_URL": backend.redis_url or "",
            "HUBBUB_JWT_SECRET": JWT_SECRET,
        }
    with serving(tmp_path, env) as base:
        yield base


def test_serve_starts_and_a_user_can_register_and_log_in(
    served: str, tmp_path: Path, backend: Backend
) -> None:
    with httpx.Client(base_url=served, timeout=10) as http:
        reg = http.post(
            "/auth/register",
            json={
                "username": "newcomer",
                "email": "newcomer@example.com",
                "password": "hunter2hunter2",
            },
        )
        assert reg.status_code == 201, reg.text
        login = http.post("/auth/login", json={"email": "newcomer", "password": "hunter2hunter2"})
        assert login.status_code == 200
        token = login.json()["token"]
        me = http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["user"]["username"] == "newcomer"
        assert http.get("/readyz").status_code == 200
    if not backend.is_postgres:
        key = tmp_path / ".hubbub" / "signing.key"
        assert key.exists()
        assert oct(key.stat().st_mode & 0o777) == "0o600"


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_a_fresh_data_dir_and_everything_in_it_are_the_owners_alone(tmp_path: Path) -> None:
    """Started under a permissive umask, serve still keeps the data dir private."""
    env = {"HUBBUB_ARGON2_MEMORY_KIB": "1024"}
    with serving(tmp_path, env, umask=0o022) as base:
        with httpx.Client(base_url=base, timeout=10) as http:
            reg = http.post(
                "/auth/register",
                json={"username": "owner", "email": "o@example.com", "password": "a" * 12},
            )
            assert reg.status_code == 201, reg.text
            auth = {"Authorization": f"Bearer {reg.json()['token']}"}
            up = http.post(
                "/files/upload",
                headers=auth,
                data={"type": "message_attachment"},
                files={"file": ("notes.txt", b"private notes")},
            )
            assert up.status_code == 201, up.text
        data = tmp_path / ".hubbub"
        assert _mode(data) == "0o700"
        assert _mode(data / "uploads") == "0o700"
        for name in ("hubbub.db", "hubbub.db-wal", "hubbub.db-shm", "signing.key"):
            assert _mode(data / name) == "0o600", name
        stored = [p for p in (data / "uploads").rglob("*") if p.parent.name != "tmp"]
        assert [p for p in stored if p.is_file()], "the upload was stored"
        for path in stored:
            assert _mode(path) == ("0o700" if path.is_dir() else "0o600"), path


def test_a_data_dir_left_readable_by_others_is_narrowed_with_a_warning(tmp_path: Path) -> None:
    assert run_hubbub("migrate", cwd=tmp_path).returncode == 0
    data = tmp_path / ".hubbub"
    (data / "signing.key").write_text("k" * 48)
    for path, mode in [
        (data, 0o755),
        (data / "uploads", 0o777),
        (data / "hubbub.db", 0o644),
        (data / "signing.key", 0o644),
    ]:
        path.chmod(mode)
    again = run_hubbub("migrate", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _mode(data) == "0o700"
    assert _mode(data / "uploads") == "0o700"
    assert _mode(data / "hubbub.db") == "0o600"
    assert _mode(data / "signing.key") == "0o600"
    assert again.stderr.count("readable by others: narrowed") == 4, again.stderr

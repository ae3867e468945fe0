"""The operator's commands end to end: `python -m hubbub user ...`, `audit`, `config`,
as separate processes against a real database (and a real server beside them, for the
sessions they end), with `--json` parsed; bad input exits non-zero and changes nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubbub.cli import _parser
from hubbub.config import SECRET_SETTINGS, Settings
from tests.conftest import JWT_SECRET, Backend
from tests.gw import Server, serving

PASSWORD = "a long password"


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    async with serving(backend, tmp_path_factory.mktemp("admin-cli"), {}) as started:
        yield started


def hubbub(
    server: Server, *args: str, cwd: Path | None = None, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in server.env.items() if k.startswith("HUBBUB_")} | (extra or {})
    command = [sys.executable, "-m", "hubbub", *args]
    with subprocess.Popen(  # noqa: S603
        command,
        # faulthandler: a command that hangs is stopped with SIGABRT and prints where
        # each of its threads was.
        env={"PATH": "/usr/bin:/bin", "PYTHONFAULTHANDLER": "1", **env},
        cwd=cwd or server.log.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            out, err = proc.communicate()
            raise AssertionError(f"{args} hung for 60 s; its output: {out}{err}") from None
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def ok(server: Server, *args: str) -> Any:
    """Run with --json; it succeeds; its output parsed."""
    done = hubbub(server, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refused(server: Server, *args: str, code: str, status: int = 1) -> str:
    done = hubbub(server, *args, "--json")
    assert done.returncode == status, done.stdout + done.stderr
    assert done.stderr.startswith("hubbub: "), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["code"] == code
    return done.stderr


def audit_actions(server: Server) -> list[str]:
    return [e["action"] for e in ok(server, "audit", "--limit", "1000")["entries"]]


async def _login(http: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await http.post("/auth/login", json={"email": name, "password": password})


async def test_every_user_command_end_to_end(server: Server) -> None:
    made = ok(server, "user", "create", "--username", "ann", "--email", "ann@example.com",
              "--password", PASSWORD)["user"]  # fmt: skip
    assert (made["username"], made["isAdmin"], made["isActive"]) == ("ann", False, True)
    boss = ok(server, "user", "create", "--username", "boss", "--email", "boss@example.com",
              "--password", PASSWORD, "--admin")["user"]  # fmt: skip
    assert boss["isAdmin"] is True

    found = ok(server, "user", "list", "--search", "ANN")["users"]
    assert [u["username"] for u in found] == ["ann"]
    first = ok(server, "user", "list", "--limit", "1")
    assert [u["username"] for u in first["users"]] == ["ann"]
    second = ok(server, "user", "list", "--limit", "1", "--cursor", first["nextCursor"])
    assert [u["username"] for u in second["users"]] == ["boss"]
    assert ok(server, "user", "show", "--username", "Ann")["user"]["id"] == made["id"]
    assert ok(server, "user", "make-admin", "--username", "ann")["account"]["isAdmin"] is True
    back = ok(server, "user", "make-admin", "--username", "ann", "--revoke")
    assert back["account"]["isAdmin"] is False

    async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
        session = await _login(http, "ann", PASSWORD)
        assert session.status_code == 200, session.text
        headers = {"Authorization": f"Bearer {session.json()['token']}"}
        listed = ok(server, "user", "sessions", "--username", "ann")["sessions"]
        assert "127.0.0.1" in [s["address"] for s in listed]  # and the one `create` began
        ended = len(listed)
        assert ok(server, "user", "logout-all", "--username", "ann") == {"ended": ended}
        assert (await http.get("/users/me", headers=headers)).status_code == 401
        assert ok(server, "user", "sessions", "--username", "ann") == {"sessions": []}

        assert (await _login(http, "ann", PASSWORD)).status_code == 200
        changed = ok(server, "user", "set-password", "--username", "ann",
                     "--password", "another long password")  # fmt: skip
        assert changed == {"ended": 1}
        assert (await _login(http, "ann", PASSWORD)).status_code == 401
        assert (await _login(http, "ann", "another long password")).status_code == 200

        link = ok(server, "user", "reset-link", "--username", "ann")
        assert link["userId"] == made["id"]
        assert "reset-password?token=" in link["link"]

        gone = ok(server, "user", "deactivate", "--username", "ann")["account"]
        assert gone["isActive"] is False
        assert (await _login(http, "ann", "another long password")).status_code == 403
        assert ok(server, "user", "reactivate", "--username", "ann")["account"]["isActive"]
        assert (await _login(http, "ann", "another long password")).status_code == 200

    entries = ok(server, "audit")["entries"]
    assert [e["action"] for e in entries][:8] == [
        "reactivate", "deactivate", "reset_link", "set_password", "logout_all", "demote",
        "promote", "promote",
    ]  # fmt: skip
    assert {e["actorName"] for e in entries} == {"the terminal"}
    assert entries[4]["details"] == {"ended": ended}
    text = hubbub(server, "audit").stdout
    assert "the terminal: reactivate ann" in text
    # The older spellings still work.
    assert "deactivated" in hubbub(server, "deactivate", "--username", "ann").stdout
    assert "active" in hubbub(server, "reactivate", "--username", "ann").stdout
    assert "server administrator" in hubbub(server, "promote", "--username", "ann").stdout
    assert hubbub(server, "demote", "--username", "ann").returncode == 0


async def test_bad_input_is_refused_in_one_line_and_changes_nothing(server: Server) -> None:
    ok(server, "user", "create", "--username", "ben", "--email", "ben@example.com",
       "--password", PASSWORD)  # fmt: skip
    before = audit_actions(server)
    for command in ("show", "deactivate", "reactivate", "make-admin", "reset-link",
                    "sessions", "logout-all"):  # fmt: skip
        message = refused(server, "user", command, "--username", "nobody", code="user_not_found")
        assert "User not found" in message
    refused(server, "user", "set-password", "--username", "nobody", "--password", PASSWORD,
            code="user_not_found")  # fmt: skip
    weak = refused(server, "user", "set-password", "--username", "ben", "--password", "short",
                   code="validation_error")  # fmt: skip
    assert "password" in weak
    taken = refused(server, "user", "create", "--username", "BEN", "--email", "x@example.com",
                    "--password", PASSWORD, code="username_taken")  # fmt: skip
    assert "taken" in taken
    refused(server, "user", "list", "--cursor", "not-a-cursor", code="invalid_cursor")
    refused(server, "audit", "--cursor", "not-a-cursor", code="invalid_cursor")
    refused(server, "user", "list", "--limit", "0", code="invalid_limit")
    for argv in (("user", "deactivate"), ("user", "frobnicate"), ("user", "list", "--limit", "x")):
        bad = hubbub(server, *argv)
        assert bad.returncode == 2
        assert "usage:" in bad.stderr
    assert audit_actions(server) == before
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
        assert (await _login(http, "ben", PASSWORD)).status_code == 200


def test_the_last_administrator_cannot_be_removed(server: Server) -> None:
    ok(server, "user", "create", "--username", "solo", "--email", "solo@example.com",
       "--password", PASSWORD, "--admin")  # fmt: skip
    others = [u["username"] for u in ok(server, "user", "list", "--limit", "100")["users"]
              if u["isAdmin"] and u["isActive"] and u["username"] != "solo"]  # fmt: skip
    for name in others:
        ok(server, "user", "make-admin", "--username", name, "--revoke")
    before = audit_actions(server)
    for argv in (("deactivate", "--username", "solo"), ("make-admin", "--username", "solo",
                 "--revoke"), ("delete", "solo", "--yes")):  # fmt: skip
        message = refused(server, "user", *argv, code="last_admin")
        assert "last active administrator" in message
    assert audit_actions(server) == before
    shown = ok(server, "user", "show", "--username", "solo")["user"]
    assert (shown["isAdmin"], shown["isActive"]) == (True, True)
    # With a second administrator, the first may go.
    ok(server, "user", "create", "--username", "duo", "--email", "duo@example.com",
       "--password", PASSWORD, "--admin")  # fmt: skip
    assert ok(server, "user", "deactivate", "--username", "solo")["account"]["isActive"] is False
    for name in others:
        ok(server, "user", "make-admin", "--username", name)


def test_config_show_tells_every_setting_and_its_source_with_secrets_masked(
    server: Server, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("HUBBUB_LOG_LEVEL=warning\n")
    done = hubbub(
        server, "config", "show", "--json", "--port", "9999",
        "--smtp-url", "smtp://mailer:hunter2@127.0.0.1:2525",
        "--metrics-token", "metrics-token-in-clear", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout
    assert "metrics-token-in-clear" not in done.stdout
    assert JWT_SECRET not in done.stdout
    rows = {r["name"]: r for r in json.loads(done.stdout)["settings"]}
    assert set(rows) == set(Settings.model_fields)
    assert (rows["port"]["value"], rows["port"]["source"]) == (9999, "flag")
    assert rows["smtp_url"]["value"] == "smtp://mailer:********@127.0.0.1:2525"
    assert (rows["jwt_secret"]["value"], rows["jwt_secret"]["source"]) == (
        "********",
        "environment",
    )
    assert (rows["log_level"]["value"], rows["log_level"]["source"]) == ("warning", ".env")
    assert (rows["typing_ttl_s"]["value"], rows["typing_ttl_s"]["source"]) == (6.0, "default")
    assert rows["metrics_token"]["value"] == "********"
    assert rows["port"]["variable"] == "HUBBUB_PORT"
    text = hubbub(server, "config", "show", cwd=tmp_path).stdout
    assert "HUBBUB_JWT_SECRET=********  (environment)" in text


def test_every_setting_holding_a_secret_is_masked() -> None:
    # A setting named like a secret (not a lifetime such as access_token_ttl_s) must be
    # declared one, or `config show` would print it in clear.
    secret_like = {
        name
        for name in Settings.model_fields
        if not name.endswith("_s")
        and any(word in name for word in ("secret", "token", "key", "password"))
    }
    assert secret_like == SECRET_SETTINGS


def test_config_check_reaches_the_database_and_redis(server: Server, backend: Backend) -> None:
    good = hubbub(server, "config", "check", "--json")
    assert good.returncode == 0, good.stdout + good.stderr
    checks = {c["name"]: c for c in json.loads(good.stdout)["checks"]}
    assert all(c["ok"] for c in checks.values()), checks
    assert set(checks) == {"settings", "database", "migrations", "redis"}

    bad = hubbub(
        server, "config", "check",
        extra={"HUBBUB_DATABASE_URL": "postgresql://127.0.0.1:1/nothing",
               "HUBBUB_REDIS_URL": "redis://127.0.0.1:1/0"},
    )  # fmt: skip
    assert bad.returncode == 1
    lines = bad.stdout.strip().splitlines()
    problems = [line for line in lines if "PROBLEM" in line]
    assert [p.split(":")[0] for p in problems] == ["database", "redis"], bad.stdout
    assert "HUBBUB_DATABASE_URL" in problems[0]


def test_every_setting_is_a_flag_of_serve() -> None:
    serve = _parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {a.dest: a.option_strings for a in serve._actions if a.option_strings}
    flags.pop("help")
    assert set(flags) == set(Settings.model_fields)
    for name, options in flags.items():
        assert options == ["--" + name.replace("_", "-")]
    args = _parser().parse_args(["serve", "--typing-ttl-s", "2.5", "--sqlite-synchronous", "FULL"])
    from hubbub.cli import load_settings

    settings = load_settings(args)
    assert (settings.typing_ttl_s, settings.sqlite_synchronous) == (2.5, "FULL")

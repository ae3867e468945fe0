"""The wheel, built and installed into a clean virtual environment (SQLite run only).

The wheel is built from the files the container build receives (the .dockerignore
rules), with the build backend of the dev environment, and installed into a new
virtual environment from the lock file and the wheel alone. That environment's `hubbub`
must then report its version, migrate a fresh data directory, serve the API and the
web client, and pass the image's own health check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.dockerfile import ROOT, ignore_patterns, in_context, stages
from tests.gw import free_port
from tests.test_deploy_files import tracked_files

pytestmark = pytest.mark.sqlite_only

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
COMMANDS = [
    "serve", "migrate", "createuser", "deactivate", "reactivate", "promote", "demote",
    "reset-link", "user", "audit", "config", "backup", "restore", "port-db", "export",
    "import", "demo", "bench", "chat",
]  # fmt: skip


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    argv = [str(part) for part in command]
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)  # noqa: PLW1510, S603
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result.stdout


def clean_env(**extra: str) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUBBUB_", "PYTHON", "VIRTUAL_ENV"))
    }
    return keep | extra


@dataclass
class Installed:
    wheel: Path
    venv: Path
    work: Path

    @property
    def hubbub(self) -> Path:
        return self.venv / "bin" / "hubbub"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    # The build context of the image: what .dockerignore lets through.
    context = root / "context"
    rules = ignore_patterns()
    for path in tracked_files("."):
        if in_context(path, rules):
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, context / path)
    dist = root / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, context, cwd=root)
    (wheel,) = dist.glob("hubbub-*.whl")

    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    # Byte-compiling every dependency up front would double the install's time.
    target = ["--python", str(venv / "bin" / "python"), "install", "--no-input", "--no-compile"]
    run(*pip, *target, "-r", ROOT / "requirements.lock", cwd=root)
    run(*pip, *target, "--no-deps", wheel, cwd=root)
    work = root / "work"
    work.mkdir()
    return Installed(wheel, venv, work)


def test_wheel_holds_every_module_the_web_client_and_the_migrations(
    installed: Installed,
) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(f"hubbub-{VERSION}.dist-info/entry_points.txt").decode()
    assert "hubbub = hubbub.cli:main" in entry_points
    shipped = [
        path
        for path in tracked_files("src")
        if not path.startswith("src/hubbub.egg-info") and not path.endswith(".gitignore")
    ]
    missing = [path for path in shipped if path.removeprefix("src/") not in names]
    assert not missing
    for needed in ("hubbub/web/index.html", "hubbub/migrations/env.py", "hubbub/py.typed"):
        assert needed in names
    assert any(n.startswith("hubbub/migrations/versions/0001_") for n in names)
    assert any(n.startswith("hubbub/web/assets/") and n.endswith(".js") for n in names)


def test_installed_hubbub_reports_its_version_and_every_command(installed: Installed) -> None:
    env = clean_env()
    assert run(installed.hubbub, "--version", cwd=installed.work, env=env).strip() == (
        f"hubbub {VERSION}"
    )
    usage = run(installed.hubbub, "--help", cwd=installed.work, env=env)
    for command in COMMANDS:
        assert command in usage
    # What the commands import when they run, from the installed packages.
    where = run(
        installed.venv / "bin" / "python",
        "-c",
        "import hubbub.app, hubbub.compose, hubbub.startup, hubbub_bench.main as bench;"
        "import hubbub.client;"  # the SDK and its dependencies (httpx, aiohttp) come along
        "print(hubbub.app.__file__, bench.__file__, hubbub.client.__file__)",
        cwd=installed.work,
        env=env,
    )
    for module in where.split():
        assert Path(module).is_relative_to(installed.venv), module
    # The terminal client comes with every install, Textual with it.
    chat = subprocess.run(  # noqa: PLW1510, S603
        [installed.hubbub, "chat", "--help"],
        cwd=installed.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0, chat.stderr
    assert "HUBBUB_CHAT_PASSWORD" in chat.stdout
    textual = run(
        installed.venv / "bin" / "python", "-c", "import textual; print(textual.__file__)",
        cwd=installed.work,
        env=env,
    )  # fmt: skip
    assert Path(textual.strip()).is_relative_to(installed.venv)


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    data = installed.work / "data"
    env = clean_env(HUBBUB_DATA_DIR=str(data), HUBBUB_PORT=str(port))
    out = run(installed.hubbub, "migrate", cwd=installed.work, env=env)
    assert "migrations applied" in out
    assert (data / "hubbub.db").exists()
    log = installed.work / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(  # noqa: S603
            [installed.hubbub, "serve"], cwd=installed.work, env=env, stdout=sink, stderr=sink
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_installed_hubbub_serves_the_api_and_the_web_client(
    served: tuple[str, dict[str, str]],
) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/readyz").status_code == 200
        page = http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        scripts = [
            part.split('"')[0] for part in page.text.split('src="')[1:] if "/assets/" in part
        ]
        assert scripts, page.text
        asset = http.get(scripts[0])
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]


def test_image_health_check_passes_against_the_installed_server(
    installed: Installed, served: tuple[str, dict[str, str]]
) -> None:
    (check,) = stages()[1][-1].all("HEALTHCHECK")
    program, *arguments = check.exec_form()
    assert program == "python"
    python = installed.venv / "bin" / "python"
    _, env = served
    run(python, *arguments, cwd=installed.work, env=env)
    # Nothing listening: the check fails.
    silent = env | {"HUBBUB_PORT": str(free_port())}
    result = subprocess.run(  # noqa: S603
        [python, *arguments],
        cwd=installed.work,
        env=silent,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0

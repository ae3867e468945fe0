"""The container image, compose files and systemd unit, checked without running them.

No container engine is needed: the Dockerfile is parsed (known instructions, named
stages, a non-root runtime, a health check, sources that exist and reach the builder),
the compose files are read as YAML and every HUBBUB_* variable they set must be a real
setting whose value passes hubbub's own start-up checks, and the systemd unit is checked
by `systemd-analyze verify` where it is installed. The image's health check command is
run against a real server in tests/test_packaging.py, deploy/nginx.conf by nginx in
tests/test_nginx.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubbub.config import Settings
from tests.dockerfile import ROOT, Stage, ignore_patterns, in_context, stages

SETTINGS = {f"HUBBUB_{name.upper()}" for name in Settings.model_fields}
# Settings that compose.scaled.yml sets for a change made beside this one (the
# trusted-proxy setting of the sign-in limits); once it is in Settings the check is exact.
ARRIVING = {"HUBBUB_TRUSTED_PROXIES"}


def tracked_files(under: str) -> list[str]:
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "--", under],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed, under
    return listed


def check_hubbub_variables(env: dict[str, str], where: str) -> None:
    for name in env:
        if name.startswith("HUBBUB_"):
            assert name in SETTINGS or name in ARRIVING, f"{where}: {name} is not a setting"


# The Dockerfile ----------------------------------------------------------------------


def runtime() -> Stage:
    return stages()[1][-1]


def test_dockerfile_stages_are_named_and_build_from_the_lock_file() -> None:
    args, found = stages()
    assert [s.name for s in found] == ["build", "runtime"]
    for stage in found:
        assert stage.base == args["PYTHON_IMAGE"] == "python:3.11-slim"
    build = found[0]
    runs = " ".join(i.args for i in build.all("RUN"))
    assert "pip install -r requirements.lock" in runs
    assert "pip install --no-deps ." in runs
    # The runtime takes the built environment from the build stage, nothing else.
    copies = runtime().all("COPY")
    assert [c.flags() for c in copies] == [{"from": "build"}]


def test_dockerfile_sources_exist_and_reach_the_builder() -> None:
    rules = ignore_patterns()
    for stage in stages()[1]:
        for copy in stage.all("COPY") + stage.all("ADD"):
            if "from" in copy.flags():
                assert copy.flags()["from"] in {"build"}, copy.args
                continue
            *sources, _target = copy.words()
            for source in sources:
                assert (ROOT / source).exists(), source
                for path in tracked_files(source):
                    assert in_context(path, rules), f"{path} is left out by .dockerignore"
    # The web client's build is package data, so it must reach the builder; what it is
    # built from, the virtual environment and the repository's history must not.
    for path in tracked_files("src/hubbub/web"):
        assert in_context(path, rules), path
    for path in (".venv/bin/python", ".git/HEAD", "web/node_modules/x", ".hubbub/hubbub.db"):
        assert not in_context(path, rules), path
    assert not in_context("src/hubbub/__pycache__/cli.cpython-311.pyc", rules)


def test_image_runs_hubbub_as_a_user_on_every_interface_with_data_in_a_volume() -> None:
    stage = runtime()
    users = stage.all("USER")
    assert users, "the runtime stage sets no USER (it would run as root)"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}
    # The user is made in the image, and owns the data directory.
    runs = " ".join(i.args for i in stage.all("RUN"))
    assert f"useradd --system --uid 10001 --gid {user}" in runs
    assert f"chown -R {user}:{user} /data" in runs

    env = stage.env()
    check_hubbub_variables(env, "Dockerfile")
    assert env["HUBBUB_HOST"] == "0.0.0.0"  # noqa: S104
    assert env["HUBBUB_DATA_DIR"] == "/data"
    assert Settings.model_fields["host"].default == "127.0.0.1"
    assert [v.exec_form() for v in stage.all("VOLUME")] == [["/data"]]
    assert [e.exec_form() for e in stage.all("ENTRYPOINT")] == [["hubbub"]]
    assert [c.exec_form() for c in stage.all("CMD")] == [["serve"]]
    assert stage.all("EXPOSE")[0].args == env["HUBBUB_PORT"]


def test_image_health_check_asks_readyz_with_python() -> None:
    (check,) = runtime().all("HEALTHCHECK")
    command = check.exec_form()
    assert command[:2] == ["python", "-c"]
    compile(command[2], "HEALTHCHECK", "exec")
    assert "/readyz" in command[2]
    assert {"interval", "timeout", "start-period", "retries"} <= set(check.flags())


# Compose files -----------------------------------------------------------------------


def compose(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def resolved(value: str) -> str:
    """A compose value with ${NAME:-default} as its default, ${NAME:?error} as a sample."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "s" * 48, value)


def check_services(files: dict[str, Any]) -> None:
    services = files["services"]
    volumes = set(files.get("volumes") or {})
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            assert service["build"] == "."
            assert service["image"] == "hubbub:latest"
        else:
            image = service["image"]
            assert re.fullmatch(r"[a-z0-9/]+:\d[\w.-]*", image), f"{name}: pin {image!r}"
        env = {k: resolved(str(v)) for k, v in (service.get("environment") or {}).items()}
        check_hubbub_variables(env, name)
        if "HUBBUB_DATABASE_URL" in env or "HUBBUB_REDIS_URL" in env or name == "hubbub":
            known = {k[len("HUBBUB_") :].lower(): v for k, v in env.items() if k in SETTINGS}
            Settings(_env_file=None, **known).check()  # type: ignore[call-arg]
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for mount in service.get("volumes") or []:
            source = mount.split(":")[0]
            if not source.startswith("."):
                assert source in volumes, f"{name}: volume {source} is not declared"
            else:
                assert (ROOT / source).exists(), source


def test_compose_runs_one_node_on_the_embedded_default() -> None:
    files = compose("compose.yml")
    check_services(files)
    (service,) = files["services"].values()
    assert service["volumes"] == ["hubbub-data:/data"]
    assert service["ports"] == ["127.0.0.1:8000:8000"]
    assert "environment" not in service  # the image's defaults: SQLite in /data


def test_compose_scaled_runs_two_nodes_behind_nginx_after_one_migration() -> None:
    files = compose("compose.scaled.yml")
    check_services(files)
    services = files["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    nodes = [services["hubbub-1"], services["hubbub-2"]]
    for node in nodes:
        assert node["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert node["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "uploads:/data/uploads" in node["volumes"]
        env = node["environment"]
        assert (
            env["HUBBUB_DATABASE_URL"] == services["migrate"]["environment"]["HUBBUB_DATABASE_URL"]
        )
        assert env["HUBBUB_DATABASE_URL"].split("@")[1].startswith("postgres:")
        assert env["HUBBUB_REDIS_URL"].startswith("redis://redis:")
    assert nodes[0]["environment"] == nodes[1]["environment"]
    # The nodes trust nginx's own address, and nginx has it.
    nginx = services["nginx"]
    address = nginx["networks"]["hubbub"]["ipv4_address"]
    assert nodes[0]["environment"]["HUBBUB_TRUSTED_PROXIES"] == address
    subnet = files["networks"]["hubbub"]["ipam"]["config"][0]["subnet"]
    assert address.rsplit(".", 1)[0] == subnet.split("/")[0].rsplit(".", 1)[0]
    for node in ("hubbub-1", "hubbub-2"):
        assert nginx["depends_on"][node]["condition"] == "service_healthy"


def test_nginx_configuration_is_the_one_compose_mounts() -> None:
    nginx = compose("compose.scaled.yml")["services"]["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream_hosts = set(re.findall(r"^\s*server ([\w-]+):8000;$", text, flags=re.M))
    assert upstream_hosts == {"hubbub-1", "hubbub-2"}
    for directive in (
        "ip_hash;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ):
        assert directive in text, directive
    # No `user` directive: the image's nginx names its own; Debian's runs as whoever.
    assert not re.search(r"^\s*user\s", text, flags=re.M)


# The systemd unit --------------------------------------------------------------------

UNIT = ROOT / "contrib" / "hubbub.service"


def unit_keys(text: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, line
        key, sep, value = line.partition("=")
        assert sep, line
        current.setdefault(key, []).append(value)
    return sections


def test_systemd_unit_runs_hubbub_as_its_own_user_with_limits_and_hardening() -> None:
    service = unit_keys(UNIT.read_text())["Service"]
    expected = {
        "User": ["hubbub"],
        "LimitNOFILE": ["65536"],
        "Restart": ["on-failure"],
        "NoNewPrivileges": ["true"],
        "ProtectSystem": ["strict"],
        "ReadWritePaths": ["/var/lib/hubbub"],
        "PrivateTmp": ["true"],
        "Environment": ["HUBBUB_DATA_DIR=/var/lib/hubbub"],
        "ExecStart": ["/opt/hubbub/bin/hubbub serve"],
    }
    for key, value in expected.items():
        assert service.get(key) == value, key
    assert service["EnvironmentFile"][0].lstrip("-").startswith("/etc/hubbub/")
    assert service["StateDirectory"] == ["hubbub"]


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the unit's keys are checked above")
    # verify wants the ExecStart program to exist: point it at this environment's hubbub.
    hubbub = Path(sys.executable).parent / "hubbub"
    text = UNIT.read_text().replace("/opt/hubbub/bin/hubbub", str(hubbub))
    unit = tmp_path / "hubbub.service"
    unit.write_text(text)
    result = subprocess.run(  # noqa: S603
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    # A key systemd does not know, or a value it cannot parse, is only a warning.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == "", result.stdout + result.stderr

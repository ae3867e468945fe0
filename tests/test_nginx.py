"""deploy/nginx.conf in front of real `hubbub serve` processes, run by Debian's nginx.

The shipped file is the one compose.scaled.yml mounts; the test derives its own from it,
changing only what names the machine (the upstream servers, the listen address) and
adding the temporary paths an unprivileged nginx needs. nginx runs as a plain process
with its own prefix, pid file and temp directories.

On the PostgreSQL run two nodes share the database and Redis, and a message sent over
one node's WebSocket must reach a socket on the other node that polls, and back; ip_hash
keeps each client address on one node, which polling needs. On the SQLite run nginx
fronts one node (the embedded default is one process by design). Clients are told apart
by their local address: on loopback any of 127.0.0.0/8 can be bound, and ip_hash keys
on the first three octets, so 127.0.N.1 is client N.

Without nginx on the machine the tests skip, except in CI, where they must run.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hubbub.config import Settings
from tests.conftest import IN_CI, Backend
from tests.gw import Client, Server, clients, free_port, group, own_database, register, start_server

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "deploy" / "nginx.conf"
UPSTREAM_SERVERS = ["hubbub-1:8000", "hubbub-2:8000"]
# The per-address login limit shows which address a node believes is the client's.
FAILURES_PER_ADDRESS = 3
# Proxies are trusted only where the setting exists (it comes with the sign-in limits).
TRUSTS_PROXIES = "trusted_proxies" in Settings.model_fields


def nginx_binary() -> str:
    # Debian installs it in /usr/sbin, which a user's PATH may leave out.
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        if IN_CI:
            pytest.fail("CI needs nginx: .ci/run installs Debian's nginx package")
        pytest.skip("nginx is not installed (apt-get install nginx); CI runs these tests")
    return found


def render(upstreams: list[str], listen: str, prefix: Path) -> str:
    """The shipped configuration, with this machine's addresses and temp paths."""
    text = SHIPPED.read_text()
    servers = re.findall(r"^\s*server (\S+);$", text, flags=re.M)
    assert servers == UPSTREAM_SERVERS, servers
    lines = "".join(f"        server {address};\n" for address in upstreams)
    text, n = re.subn(r"(?:^\s*server \S+;\n)+", lines, text, count=1, flags=re.M)
    assert n == 1
    text, n = re.subn(r"^(\s*)listen 80;$", rf"\1listen {listen};", text, flags=re.M)
    assert n == 1
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text, n = re.subn(r"^http \{\n", "http {\n" + temp, text, flags=re.M)
    assert n == 1
    return text


def nginx_command(binary: str, prefix: Path, conf: Path, *extra: str) -> list[str]:
    # The `user` directive matters only to a master started as root; naming the current
    # user keeps the workers able to read the prefix (a warning, ignored, otherwise).
    directives = f"daemon off; pid {prefix / 'nginx.pid'}; user {getpass.getuser()};"
    return [binary, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", directives, *extra]


@dataclass
class Proxy:
    base: str
    log: Path


@contextlib.contextmanager
def nginx(upstreams: list[str], directory: Path) -> Iterator[Proxy]:
    binary = nginx_binary()
    prefix = directory / "nginx"
    prefix.mkdir(parents=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render(upstreams, f"127.0.0.1:{port}", prefix))
    log = prefix / "nginx.log"
    checked = subprocess.run(  # noqa: S603
        nginx_command(binary, prefix, conf, "-t"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    with log.open("ab") as out:
        proc = subprocess.Popen(nginx_command(binary, prefix, conf), stdout=out, stderr=out)  # noqa: S603
    proxy = Proxy(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"nginx exited: {log.read_text()}"
            try:
                if httpx.get(proxy.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"nginx did not answer: {log.read_text()}"
            time.sleep(0.1)
        yield proxy
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def http_from(base: str, source: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=10)


@dataclass
class Fronted:
    proxy: Proxy
    nodes: list[Server]


@pytest.fixture(scope="module")
async def fronted(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Fronted]:
    nginx_binary()
    directory = tmp_path_factory.mktemp("nginx")
    async with own_database(backend, directory) as env:
        env |= {"HUBBUB_LOGIN_MAX_FAILURES_PER_ADDRESS": str(FAILURES_PER_ADDRESS)}
        if TRUSTS_PROXIES:
            env["HUBBUB_TRUSTED_PROXIES"] = "127.0.0.1"
        names = ["n1", "n2"] if backend.is_postgres else ["n1"]
        nodes: list[Server] = []
        try:
            for name in names:
                # Each node allows a browser origin of its own: a CORS preflight through
                # nginx then tells which node answered.
                origin = {"HUBBUB_ALLOWED_ORIGINS": f"http://{name}.example"}
                nodes.append(start_server(directory / name, env | origin))
            upstreams = [f"127.0.0.1:{node.port}" for node in nodes]
            with nginx(upstreams * (2 // len(upstreams)), directory) as proxy:
                yield Fronted(proxy, nodes)
        finally:
            for node in nodes:
                node.stop()


async def node_behind(proxy: Proxy, source: str, nodes: int) -> int:
    """Which node (0 or 1) nginx sends this client address to."""
    answered = []
    async with http_from(proxy.base, source) as http:
        for n in range(1, nodes + 1):
            preflight = await http.options(
                "/auth/login",
                headers={
                    "Origin": f"http://n{n}.example",
                    "Access-Control-Request-Method": "POST",
                },
            )
            if preflight.status_code == 200:
                answered.append(n - 1)
    assert len(answered) == 1, answered
    return answered[0]


async def sources_per_node(proxy: Proxy, nodes: int) -> list[str]:
    """A client address for each node, in node order."""
    found: dict[int, str] = {}
    for n in range(1, 33):
        source = f"127.0.{n}.1"
        found.setdefault(await node_behind(proxy, source, nodes), source)
        if len(found) == nodes:
            return [found[i] for i in range(nodes)]
    raise AssertionError(f"ip_hash sent 32 client addresses to {sorted(found)} only")


async def test_messages_cross_nodes_through_nginx_over_websocket_and_polling(
    fronted: Fronted,
) -> None:
    proxy, nodes = fronted.proxy, len(fronted.nodes)
    sources = await sources_per_node(proxy, nodes)
    near, far = sources[0], sources[-1]
    async with (
        http_from(proxy.base, near) as http,
        clients(proxy.base) as connect,
    ):
        a, b = await register(http), await register(http)
        cid = await group(http, a, b)
        a_ws: Client = await connect(a, source=near, transports=["websocket"])
        b_polling: Client = await connect(b, source=far, transports=["polling"])
        assert a_ws.sio.eio.current_transport == "websocket"
        assert b_polling.sio.eio.current_transport == "polling"

        sent = await a_ws.send(cid, "over the websocket")
        got = await b_polling.wait_for("new_message", lambda d: d["message"]["id"] == sent["id"])
        assert got["message"]["content"] == "over the websocket"

        reply = await b_polling.send(cid, "over long polling")
        got = await a_ws.wait_for("new_message", lambda d: d["message"]["id"] == reply["id"])
        assert got["message"]["content"] == "over long polling"
        # Every request of the polling session stayed on its node: it is still connected.
        assert b_polling.sio.eio.current_transport == "polling"
        assert not b_polling.disconnected


async def failed_login(http: httpx.AsyncClient, n: int, forwarded_for: str | None) -> int:
    response = await http.post(
        "/auth/login",
        json={"email": f"nobody-{n}@example.com", "password": "wrong guess"},
        headers={} if forwarded_for is None else {"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


async def test_nodes_see_the_client_address_nginx_forwards(fronted: Fronted) -> None:
    """nginx connects from 127.0.0.1; its X-Forwarded-For names 127.0.N.1, the client.

    Where HUBBUB_TRUSTED_PROXIES exists, the nodes trust 127.0.0.1 through it.
    """
    proxy = fronted.proxy
    async with http_from(proxy.base, "127.0.40.1") as guesser:
        # Whatever the client claims, the address counted is the one nginx saw.
        answers = [
            await failed_login(guesser, n, f"192.0.2.{n}") for n in range(FAILURES_PER_ADDRESS)
        ]
        assert answers == [401] * FAILURES_PER_ADDRESS
        assert await failed_login(guesser, 99, None) == 429
    # Another client, through the same nginx, has a budget of its own.
    async with http_from(proxy.base, "127.0.41.1") as other:
        assert await failed_login(other, 100, None) == 401

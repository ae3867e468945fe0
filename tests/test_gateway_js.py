"""The official JavaScript client (socket.io-client v4, run by Node) against the gateway.

tests/js holds the script and its locked dependencies (`npm ci` there; .ci/run does).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, Backend
from tests.gw import Server, group, history, own_database, register, start_server

JS_DIR = Path(__file__).parent / "js"
NODE = shutil.which("node")


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    if NODE is None:
        if IN_CI:
            pytest.fail("node is required in CI for the socket.io-client test")
        pytest.skip("node is not installed: the official JavaScript client cannot run")
    if not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        if IN_CI:
            pytest.fail("tests/js has no node_modules: run `npm ci` there (.ci/run does)")
        pytest.skip("tests/js has no node_modules: run `npm ci` in tests/js")
    directory = tmp_path_factory.mktemp("gateway-js")
    async with own_database(backend, directory) as env:
        srv = start_server(directory, env)
        try:
            yield srv
        finally:
            srv.stop()


async def test_official_js_client_sends_receives_and_is_refused(server: Server) -> None:
    assert NODE is not None
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
        a, b = await register(http), await register(http)
        cid = await group(http, a, b)
        scenario = {
            "url": server.base,
            "a": {"token": a.token, "id": a.id},
            "b": {"token": b.token, "id": b.id},
            "conversationId": cid,
            "badToken": a.token[:-4] + "AAAA",
        }
        proc = await asyncio.create_subprocess_exec(
            NODE,
            str(JS_DIR / "client.js"),
            json.dumps(scenario),
            cwd=JS_DIR,
            env={k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, stderr.decode()
        out = json.loads(stdout.decode().strip().splitlines()[-1])

        assert out["helloA"]["userId"] == a.id
        assert out["helloA"]["socketId"] == out["socketIdA"]
        assert out["helloB"]["userId"] == b.id
        ack = out["ack"]
        assert ack["ok"] is True
        message = ack["message"]
        assert message["content"] == "hello from socket.io-client"
        assert message["optimisticId"] == "js-1"
        assert message["senderId"] == a.id
        assert out["sentEvent"] == {"optimisticId": "js-1", "message": message, "success": True}
        assert out["received"] == {"message": message, "conversationId": cid}
        assert out["transport"] == "websocket"  # upgraded from polling
        assert out["connectError"] == {"message": "unauthorized", "connected": False}
        assert [m["id"] for m in await history(http, b, cid)] == [message["id"]]

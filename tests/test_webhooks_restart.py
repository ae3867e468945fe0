"""Outgoing webhooks survive a node killed in the middle of a delivery: the delivery in
flight is sent again once its hold expires (at least once, the same event id), messages
stored meanwhile are found by the restarted node's worker, and the receiver gets every
event, in order. A real `hubbub serve` process, killed with SIGKILL; a real receiver.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import Backend
from tests.gw import group, http_send, register, serving
from tests.hooks import HOOK_ENV, Receiver, seqs, subscribe, wait_log


async def test_a_node_killed_mid_delivery_loses_nothing(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    receiver = Receiver()
    await receiver.start()
    # Long enough that the node is killed while the request still waits for its answer.
    env = HOOK_ENV | {"HUBBUB_WEBHOOK_TIMEOUT_S": "3"}
    try:
        async with serving(backend, tmp_path_factory.mktemp("hooks-kill"), env) as srv:
            async with httpx.AsyncClient(base_url=srv.base, timeout=10) as http:
                bot, human = await register(http), await register(http)
                cid = await group(http, human, bot)
                sid, endpoint = await subscribe(http, bot, receiver, "kill", ["new_message"])
                endpoint.gate.clear()  # the receiver holds every request open
                before = [await http_send(http, human, cid, f"m{i}") for i in range(4)]
                await receiver.wait("kill", lambda e: len(e.received) == 1)
            assert srv.proc is not None
            srv.proc.kill()
            srv.proc.wait(timeout=10)
            srv.proc = None
            endpoint.gate.set()
            srv.start()
            async with httpx.AsyncClient(base_url=srv.base, timeout=10) as http:
                after = [await http_send(http, human, cid, f"n{i}") for i in range(2)]
                sent = before + after
                await receiver.wait(
                    "kill", lambda e: len(e.first_arrivals()) == len(sent), within=40
                )
                assert seqs(endpoint.first_arrivals()) == [m["seq"] for m in sent]
                # The one in flight at the kill came again, with its event id.
                ids = [e["id"] for e in endpoint.received]
                assert ids.count(endpoint.received[0]["id"]) == 2
                assert len(ids) == len(sent) + 1
                log = await wait_log(
                    http, bot, sid, lambda d: all(x["status"] == "delivered" for x in d)
                )
                assert len(log) == len(sent)
                first = next(x for x in log if x["seq"] == before[0]["seq"])
                assert first["attempts"] == 2
    finally:
        endpoint_gate_open = receiver.endpoints.get("kill")
        if endpoint_gate_open is not None:
            endpoint_gate_open.gate.set()
        await receiver.stop()
        await asyncio.sleep(0)

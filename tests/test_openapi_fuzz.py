"""The OpenAPI document tells the truth: schemathesis generates requests from the live
`/openapi.json` of a real `hubbub serve` and checks every answer against it.

Every check is on (`--checks all`): no server error, every status, content type, header
and body documented, schema-invalid input refused and schema-valid input accepted,
authentication required where the document says so. The requests are sent as a
registered user who is a server administrator (tests/openapi_auth.py), so the
administration's endpoints answer too, with the ids of a group, a message, a space and
a second user made first. The run is bounded (the coverage phase's boundary cases,
then `HUBBUB_FUZZ_EXAMPLES` generated cases per operation, 5 here) and deterministic;
`scripts/fuzz-api` runs the same for longer, from a random seed. What the checks are
told beyond the document (which statuses a schema-valid request may also get where
no schema can tell: an opaque cursor or token, a file's sniffed type, a reference in
a body) is in tests/schemathesis.toml, with the reason for each.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Backend
from tests.gw import serving

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
EXAMPLES = os.environ.get("HUBBUB_FUZZ_EXAMPLES", "5")
# scripts/fuzz-api sets a seed; the suite runs the same cases every time.
SEED = os.environ.get("HUBBUB_FUZZ_SEED")
# Every request comes from one address, and the generated passwords are wrong: the
# failed-login lock (docs/guarantees.md) would soon refuse the run's own logins.
UNLOCKED = {
    "HUBBUB_LOGIN_MAX_FAILURES": "1000000",
    "HUBBUB_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
    "HUBBUB_LOGIN_MAX_FAILURES_PER_IDENTIFIER": "2000000",
}


async def seed(http: httpx.AsyncClient) -> dict[str, str]:
    """The administrator (`fuzzer`), a second user, a group of both with a message in
    it, and a space: the ids the run uses (tests/schemathesis.toml, `parameters`)."""

    async def post(path: str, body: dict[str, object], token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await http.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    fuzzer = await post(
        "/auth/register",
        {"username": "fuzzer", "email": "fuzzer@example.com", "password": PASSWORD},
    )
    peer = await post(
        "/auth/register", {"username": "peer", "email": "peer@example.com", "password": PASSWORD}
    )
    token, peer_id = fuzzer["token"], peer["user"]["id"]
    group = await post(
        "/conversations", {"type": "GROUP", "name": "Fuzzed", "participantIds": [peer_id]}, token
    )
    conversation_id = group["conversation"]["id"]
    message = await post(f"/conversations/{conversation_id}/messages", {"content": "hi"}, token)
    space = await post("/spaces", {"name": "Fuzzed space"}, token)
    return {
        "HUBBUB_FUZZ_USER": peer_id,
        "HUBBUB_FUZZ_CONVERSATION": conversation_id,
        "HUBBUB_FUZZ_MESSAGE": message["message"]["id"],
        "HUBBUB_FUZZ_SPACE": space["space"]["id"],
    }


async def test_every_answer_is_the_documented_one(backend: Backend, tmp_path: Path) -> None:
    async with serving(backend, tmp_path, UNLOCKED) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            ids = await seed(http)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
        promoted = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "hubbub", "promote", "--username", "fuzzer"],
            env=env | server.env,
            capture_output=True,
            check=False,
            timeout=120,  # a command that never exits fails here, not the whole run
        )
        assert promoted.returncode == 0, promoted.stderr
        run = await asyncio.to_thread(
            subprocess.run,
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(REPO / "tests" / "schemathesis.toml"),
                "run",
                f"{server.base}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                EXAMPLES,
                *(["--seed", SEED] if SEED else ["--generation-deterministic"]),
                # One worker: on Python 3.11, hypothesis parsing sources in two threads at
                # once can fail inside `ast.parse` (a CPython bug), erring a case at random.
                "--workers",
                "1",
                "--no-color",
            ],
            env=env
            | {
                "PYTHONPATH": str(REPO),
                "HUBBUB_FUZZ_BASE": server.base,
                "HUBBUB_FUZZ_EMAIL": "fuzzer@example.com",
                "HUBBUB_FUZZ_PASSWORD": PASSWORD,
                **ids,
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
    report = run.stdout + run.stderr
    # The whole report, for a human reading a failure (scripts/fuzz-api names a file).
    saved = Path(os.environ.get("HUBBUB_FUZZ_REPORT", tmp_path / "schemathesis.txt"))
    await asyncio.to_thread(saved.write_text, report)
    assert run.returncode == 0, report[-20000:]
    # Every operation was tried, and every generated case passed every check.
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert operations is not None, report[-20000:]
    assert operations[1] == operations[2] == operations[3], operations[0]
    assert int(operations[3]) > 50, operations[0]
    assert re.search(r"(\d+) generated, \1 passed", report), report[-20000:]

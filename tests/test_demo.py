"""`hubbub demo` fills a database with an organisation a new user can look around in,
through the actions, and a second run changes nothing (README, Trying it out)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from hubbub.demo import DEMO_PASSWORD
from tests.conftest import Backend
from tests.gw import serving


def demo(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "demo", "--size", "small"],
        env={k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")} | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_demo_fills_once_and_a_second_run_changes_nothing(
    backend: Backend, tmp_path: Path
) -> None:
    async with serving(backend, tmp_path, {}) as server:
        first = await asyncio.to_thread(demo, server.env)
        assert "Done." in first
        assert f"password {DEMO_PASSWORD}" in first
        assert "history 1/" in first  # progress is shown
        logins = [line.split()[0] for line in first.splitlines() if "@demo.hubbub.example" in line]
        assert len(logins) == 6
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            signed_in = await http.post(
                "/auth/login", json={"email": logins[0], "password": DEMO_PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            me = signed_in.json()
            headers = {"Authorization": f"Bearer {me['token']}"}
            assert me["user"]["avatar"]
            avatar = await http.get(me["user"]["avatar"], headers=headers)
            assert avatar.headers["content-type"] == "image/png"
            listed = (await http.get("/conversations?limit=100", headers=headers)).json()
            kinds = {c["type"] for c in listed["conversations"]}
            assert kinds == {"SPACE", "GROUP", "PRIVATE"}
            spaces = (await http.get("/spaces", headers=headers)).json()["spaces"]
            assert len(spaces) == 3
            # A few weeks of history: the oldest message is days old, none is new.
            now = datetime.now(UTC)
            times, threads, reactions, files = [], 0, 0, 0
            for conversation in listed["conversations"]:
                page = (
                    await http.get(
                        f"/conversations/{conversation['id']}/messages?limit=100", headers=headers
                    )
                ).json()
                for message in page["messages"]:
                    times.append(datetime.fromisoformat(message["createdAt"]))
                    threads += message["parentMessageId"] is not None
                    reactions += len(message["reactions"])
                    files += len(message["attachments"])
            assert now - min(times) > timedelta(days=5)
            assert now - max(times) > timedelta(minutes=30)
            assert threads > 0
            assert reactions > 0
            assert files > 0
            before = len(times)

            second = await asyncio.to_thread(demo, server.env)
            assert "already there; nothing changed" in second
            assert "Done." not in second
            assert [line.split()[0] for line in second.splitlines() if "@demo" in line] == logins
            again = (await http.get("/conversations?limit=100", headers=headers)).json()
            assert [c["id"] for c in again["conversations"]] == [
                c["id"] for c in listed["conversations"]
            ]
            after = 0
            for conversation in again["conversations"]:
                page = (
                    await http.get(
                        f"/conversations/{conversation['id']}/messages?limit=100", headers=headers
                    )
                ).json()
                after += len(page["messages"])
            assert after == before

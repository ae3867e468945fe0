"""Helpers for the data lifecycle's tests (`tests/test_lifecycle_*.py`): a populated
server over real HTTP, what its history looks like to a member, and the `hubbub`
command run as a separate process with a given environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.gw import User, group, history, http_send, register


@dataclass
class Populated:
    """Three users; a group with replies, an attachment, a reaction, an edit and a
    deletion; a private conversation; the attachment's bytes by file id."""

    users: list[User]
    conversations: list[str]
    files: dict[str, bytes] = field(default_factory=dict)


async def populate(base: str, messages: int = 24) -> Populated:
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        a, b, c = [await register(http) for _ in range(3)]
        team = await group(http, a, b, c)
        data = secrets.token_bytes(3000)
        up = await http.post(
            "/files/upload",
            headers=a.headers,
            data={"type": "message_attachment"},
            files={"file": ("notes.bin", data)},
        )
        assert up.status_code == 201, up.text
        file_id = up.json()["id"]
        first = await http_send(http, a, team, "with a file", attachments=[file_id])
        for i in range(messages):
            await http_send(http, (a, b, c)[i % 3], team, f"message {i}")
        await http_send(http, b, team, "a reply", parentMessageId=first["id"])
        reacted = await http.post(
            f"/conversations/{team}/messages/{first['id']}/reactions",
            headers=c.headers,
            json={"emoji": "👍"},
        )
        assert reacted.status_code == 200, reacted.text
        await _change(http, a, team, "PATCH", {"content": "edited"})
        await _change(http, b, team, "DELETE", None)
        pair = await http.post(
            "/conversations", headers=a.headers, json={"type": "PRIVATE", "participantIds": [b.id]}
        )
        assert pair.status_code in (200, 201), pair.text
        private = str(pair.json()["conversation"]["id"])
        await http_send(http, a, private, "just us")
        await http_send(http, b, private, "indeed")
    return Populated([a, b, c], [team, private], {file_id: data})


async def _change(
    http: httpx.AsyncClient, who: User, cid: str, method: str, body: dict[str, str] | None
) -> None:
    """A message sent, then edited (PATCH) or deleted (DELETE)."""
    sent = await http_send(http, who, cid, "to be changed")
    r = await http.request(
        method, f"/conversations/{cid}/messages/{sent['id']}", headers=who.headers, json=body
    )
    assert r.status_code == 200, r.text


def _stable(value: Any) -> Any:
    """A view without what differs between two servers holding the same data: signed
    URLs' query strings (their expiry) and presence."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in ("isOnline", "lastSeen")}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str) and "?" in value and value.startswith("/files/"):
        return value.split("?", 1)[0]
    return value


async def login(http: httpx.AsyncClient, user: User) -> User:
    r = await http.post("/auth/login", json={"email": user.username, "password": user.password})
    assert r.status_code == 200, r.text
    return User(user.id, user.username, r.json()["token"], r.json()["refreshToken"])


async def snapshot(base: str, populated: Populated) -> dict[str, Any]:
    """Every conversation's full history as its first member sees it, and every file's
    bytes, read over HTTP after signing in afresh."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        me = await login(http, populated.users[0])
        seen: dict[str, Any] = {
            cid: _stable(await history(http, me, cid)) for cid in populated.conversations
        }
        for file_id in populated.files:
            url = next(
                a["url"]
                for m in seen[populated.conversations[0]]
                for a in m.get("attachments") or []
                if a["id"] == file_id
            )
            got = await http.get(url, headers=me.headers)
            assert got.status_code == 200, got.text
            seen[file_id] = got.content
    return seen


def hubbub(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m hubbub ARGS` with only `env`'s HUBBUB_ settings."""
    settings = {k: v for k, v in env.items() if k.startswith("HUBBUB_")}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hubbub", *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **settings},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(env: dict[str, str], *args: str, cwd: Path) -> Any:
    done = hubbub(env, *args, "--json", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def refused(env: dict[str, str], *args: str, cwd: Path, code: str) -> str:
    """It fails with `code`, in one line on stderr; the line."""
    done = hubbub(env, *args, "--json", cwd=cwd)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["code"] == code, done.stdout
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("hubbub: "), done.stderr
    return line

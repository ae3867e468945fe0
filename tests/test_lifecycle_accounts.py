"""`hubbub user export` and `hubbub user delete` end to end: separate processes against
a served, populated database (both backends); what they write is read back over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import Backend
from tests.gw import history, serving
from tests.lifecycle import login, ok, populate, refused


async def test_an_operator_exports_then_deletes_an_account(
    backend: Backend, tmp_path: Path
) -> None:
    async with serving(backend, tmp_path, {}) as server:
        env = server.env
        data = await populate(server.base, messages=6)
        ann, ben, _ = data.users
        team, private = data.conversations

        out = tmp_path / "ben.json"
        made = ok(env, "user", "export", ben.username, "--out", str(out), cwd=tmp_path)
        assert made == {"userId": ben.id, "path": str(out), "size": out.stat().st_size}
        exported = json.loads(out.read_text())
        assert exported["format"] == "hubbub-export/1"
        assert exported["profile"]["username"] == ben.username
        mine = {m["content"] for m in exported["messages"]}
        assert {"message 1", "a reply", "indeed"} <= mine
        assert "to be changed" not in mine  # a deleted message is not exported
        assert not set(m["conversationId"] for m in exported["messages"]) - {team, private}

        # Without the confirmation: refused, and nothing changes.
        line = refused(env, "user", "delete", ben.username, cwd=tmp_path,
                       code="confirmation_required")  # fmt: skip
        assert "--yes" in line
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            await login(http, ben)  # still there

        gone = ok(env, "user", "delete", "--username", ben.username, "--yes", cwd=tmp_path)
        assert gone == {"deleted": {"id": ben.id, "username": ben.username}}
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            r = await http.post(
                "/auth/login", json={"email": ben.username, "password": ben.password}
            )
            assert r.status_code == 401, r.text
            me = await login(http, ann)
            seen = await history(http, me, team)
        # The tombstone policy: the messages stay, their sender shown as "Deleted user";
        # the account left the group with a SYSTEM message.
        reply = next(m for m in seen if m["content"] == "a reply")
        assert reply["sender"]["displayName"] == "Deleted user"
        assert seen[-1]["type"] == "SYSTEM"
        assert seen[-1]["content"] == "Deleted user left"
        audit = ok(env, "audit", cwd=tmp_path)["entries"]
        assert (audit[0]["action"], audit[0]["targetName"]) == ("delete", ben.username)

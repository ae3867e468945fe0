"""`hubbub export` and `hubbub import` end to end (both backends): a populated server
exported as JSON Lines, imported into an empty server whose HTTP history then matches;
a second import changes nothing; an import cut short finishes when run again; a
conversation's export carries what it needs; an export that would collide with this
server's rows is refused and changes nothing.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import httpx

from hubbub.store.copying import CONTENT_TABLES, tables_in_order
from tests.conftest import Backend
from tests.gw import serving
from tests.lifecycle import ok, populate, refused, snapshot


async def test_export_then_import_into_an_empty_server(backend: Backend, tmp_path: Path) -> None:
    out = tmp_path / "export"
    async with serving(backend, tmp_path / "source", {}) as source:
        data = await populate(source.base, messages=9)
        before = await snapshot(source.base, data)
        made = ok(source.env, "export", "--out", str(out), cwd=tmp_path)
        assert made["manifest"]["counts"]["users"] == 3
        assert made["manifest"]["counts"]["message_reactions"] == 1
        assert len(list((out / "uploads").rglob("*"))) >= 1
        private = data.conversations[1]
        pair = tmp_path / "pair"
        one = ok(source.env, "export", "--out", str(pair), "--conversation", private, cwd=tmp_path)
        assert one["manifest"]["counts"]["users"] == 2
        assert one["manifest"]["counts"]["messages"] == len(before[private])
        assert one["manifest"]["counts"]["files"] == 0
        # Into the same server: everything is there already.
        assert ok(source.env, "import", str(pair), cwd=tmp_path)["added"] == 0

    async with serving(backend, tmp_path / "target", {}) as target:
        first = ok(target.env, "import", str(out), cwd=tmp_path)
        assert first["added"] == sum(t["rows"] for t in first["tables"].values())
        assert first["tables"]["messages"]["added"] == made["manifest"]["counts"]["messages"]
        assert await snapshot(target.base, data) == before
        second = ok(target.env, "import", str(out), cwd=tmp_path)
        assert second["added"] == 0
        assert await snapshot(target.base, data) == before

        # A user of the same name under another id would collide: refused before any
        # change, the new rows of the export included.
        clash = tmp_path / "clash"
        shutil.copytree(out, clash)
        users = [json.loads(line) for line in (clash / "users.jsonl").read_text().splitlines()]
        users[0]["id"] = str(uuid.uuid4())
        fresh = {"username": "fresh", "username_key": "fresh", "email": "fresh@example.com"}
        users.append(users[1] | fresh | {"id": str(uuid.uuid4())})
        (clash / "users.jsonl").write_text("".join(json.dumps(u) + "\n" for u in users))
        line = refused(target.env, "import", str(clash), cwd=tmp_path, code="conflict")
        assert "nothing was imported" in line
        async with httpx.AsyncClient(base_url=target.base, timeout=10) as http:
            r = await http.post("/auth/login", json={"email": "fresh", "password": "x" * 12})
            assert r.status_code == 401, r.text  # "fresh" was not added


async def test_an_import_cut_short_finishes_when_run_again(
    backend: Backend, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    async with serving(backend, tmp_path / "source", {}) as source:
        data = await populate(source.base, messages=9)
        before = await snapshot(source.base, data)
        made = ok(source.env, "export", "--out", str(out), cwd=tmp_path)
    total = sum(made["manifest"]["counts"].values())
    # What an import stopped halfway through the messages has stored (it goes parents
    # first, a batch per transaction): every table before them, the first half of the
    # messages, nothing after. The same export, cut there, brings a server to that state.
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    order = [t.name for t in tables_in_order(CONTENT_TABLES)]
    lines = (cut / "messages.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) >= 6
    (cut / "messages.jsonl").write_text("".join(lines[: len(lines) // 2]))
    for later in order[order.index("messages") + 1 :]:
        (cut / f"{later}.jsonl").write_text("")

    async with serving(backend, tmp_path / "target", {}) as target:
        partial = ok(target.env, "import", str(cut), cwd=tmp_path)
        assert partial["tables"]["messages"]["added"] == len(lines) // 2
        assert 0 < partial["added"] < total
        rest = ok(target.env, "import", str(out), cwd=tmp_path)
        # Together they added exactly what one clean run adds, and the server shows the
        # same history as the source.
        assert partial["added"] + rest["added"] == total
        assert rest["tables"]["messages"]["added"] == len(lines) - len(lines) // 2
        assert await snapshot(target.base, data) == before
        assert ok(target.env, "import", str(out), cwd=tmp_path)["added"] == 0

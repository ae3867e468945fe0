"""Download my data: a JSON export made in the background, for its owner only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from hubbub.app import Node
from tests.chat import create_group, send
from tests.conftest import Account, RegisterFn, assert_error
from tests.test_files import upload_ok


async def _until_ready(client: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    """The export's state once it is no longer running (ten seconds at the most)."""
    for _ in range(200):
        state = await client.get("/users/me/export", headers=who.headers)
        assert state.status_code == 200, state.text
        body: dict[str, Any] = state.json()
        if body["status"] != "running":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("the export is still running")


async def test_my_export_holds_my_profile_messages_and_files_and_is_mine_alone(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann", displayName="Ann A."), await register("ben")
    cid = await create_group(client, ann, ben)
    for text in ("first words", "second words"):
        await send(client, ann, cid, text)
    await send(client, ben, cid, "ben's")
    uploaded = await upload_ok(client, ann, b"hello file", filename="notes.txt")

    assert (await client.get("/users/me/export", headers=ann.headers)).json() == {
        "status": "none",
        "id": None,
        "url": None,
        "size": None,
    }
    assert_error(await client.post("/users/me/export"), 401)
    started = await client.post("/users/me/export", headers=ann.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("running", "ready")
    state = await _until_ready(client, ann)
    assert state["status"] == "ready", state
    assert state["url"] == f"/users/me/export/{state['id']}"

    download = await client.get(state["url"], headers=ann.headers)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    data = download.json()
    assert len(download.content) == state["size"]
    assert data["format"] == "hubbub-export/1"
    assert data["profile"]["username"] == "ann"
    assert data["profile"]["email"] == "ann@example.com"
    assert data["profile"]["displayName"] == "Ann A."
    assert [m["content"] for m in data["messages"]] == ["first words", "second words"]
    assert {(m["conversationId"], m["conversationName"]) for m in data["messages"]} == {
        (cid, "team")
    }
    (exported_file,) = data["files"]
    assert exported_file["id"] == uploaded["id"]
    assert exported_file["filename"] == "notes.txt"
    assert exported_file["size"] == len(b"hello file")
    fetched = await client.get(exported_file["url"])  # a signed link: no token needed
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == b"hello file"

    # Nobody else sees it: not by its link, not as their own.
    assert_error(await client.get(state["url"], headers=ben.headers), 404, "export_not_found")
    assert_error(await client.get(state["url"]), 401)
    assert (await client.get("/users/me/export", headers=ben.headers)).json()["status"] == "none"
    assert_error(await client.get("/users/me/export/not-an-id", headers=ann.headers), 404)

    # Asking again makes a new one, which replaces the old.
    again = await client.post("/users/me/export", headers=ann.headers)
    assert again.status_code == 202, again.text
    newer = await _until_ready(client, ann)
    assert newer["status"] == "ready"
    assert newer["id"] != state["id"]
    assert_error(await client.get(state["url"], headers=ann.headers), 404)
    assert (await client.get(newer["url"], headers=ann.headers)).status_code == 200


async def test_an_export_cut_short_shows_failed_and_can_be_started_again(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann = await register("ann")
    # What a restart in the middle of an export leaves: a part, and no task.
    folder = node.services.settings.data_dir / "exports" / ann.id.hex
    folder.mkdir(parents=True)
    (folder / "0190a000-0000-7000-8000-000000000000.json.part").write_text('{"format":')
    assert (await client.get("/users/me/export", headers=ann.headers)).json()["status"] == "failed"

    started = await client.post("/users/me/export", headers=ann.headers)
    assert started.status_code == 202, started.text
    state = await _until_ready(client, ann)
    assert state["status"] == "ready", state
    assert list(folder.glob("*.part")) == []
    assert (await client.get(state["url"], headers=ann.headers)).json()["messages"] == []

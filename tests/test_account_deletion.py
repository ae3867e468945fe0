"""Deleting one's own account: a tombstone that keeps the messages.

Over HTTP on an in-process node: the password is required (a refusal changes nothing);
after the deletion the account cannot sign in or be found, its messages stay with the
sender shown as "Deleted user" in every view, it has left its conversations as a member
who leaves, and its username and email are free again. Over real sockets on
`hubbub serve`: the deletion cuts every socket of the account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hubbub.app import Node
from tests.chat import create_group, send
from tests.conftest import Backend, RegisterFn, assert_error
from tests.gw import Server, clients, group, login, own_database, register, start_server


async def _delete(client: httpx.AsyncClient, headers: dict[str, str], body: Any) -> httpx.Response:
    return await client.request("DELETE", "/users/me", json=body, headers=headers)


async def _history(
    client: httpx.AsyncClient, cid: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    page = await client.get(f"/conversations/{cid}/messages", headers=headers)
    assert page.status_code == 200, page.text
    messages: list[dict[str, Any]] = page.json()["messages"]
    return messages


async def test_deleting_an_account_needs_its_password(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    assert_error(await _delete(client, ann.headers, {"password": "not my password"}), 403)
    assert_error(await _delete(client, ann.headers, {}), 422)
    assert_error(await _delete(client, {}, {"password": ann.password}), 401)
    # Nothing changed.
    me = await client.get("/users/me", headers=ann.headers)
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "ann"


async def test_a_deleted_account_leaves_a_tombstone_and_keeps_its_messages(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann", displayName="Ann A."), await register("ben")
    cid = await create_group(client, ann, ben)
    message_id = (await send(client, ann, cid, "keep me"))["id"]

    done = await _delete(client, ann.headers, {"password": ann.password})
    assert done.status_code == 200, done.text

    # Signed out everywhere, and no way back in by either name.
    assert_error(await client.get("/users/me", headers=ann.headers), 401)
    assert_error(await client.post("/auth/refresh", json={"refreshToken": ann.refresh_token}), 401)
    for name in ("ann", "ann@example.com"):
        again = await client.post("/auth/login", json={"email": name, "password": ann.password})
        assert_error(again, 401, "invalid_credentials")

    # The message stays; its sender is the tombstone.
    messages = await _history(client, cid, ben.headers)
    (kept,) = [m for m in messages if m["id"] == message_id]
    assert kept["content"] == "keep me"
    assert kept["sender"]["id"] == str(ann.id)
    assert kept["sender"]["displayName"] == "Deleted user"
    assert kept["sender"]["username"] == f"deleted-{ann.id.hex}"
    assert kept["sender"]["avatar"] is None
    assert any(m["type"] == "SYSTEM" and m["content"] == "Deleted user left" for m in messages)
    # Its profile is gone, as a deactivated account's: only the tombstone in messages.
    profile = await client.get(f"/users/{ann.id}", headers=ben.headers)
    assert_error(profile, 404, "user_not_found")

    # Gone from the conversation (Ben, the last member, owns it now) and from search.
    conversation = await client.get(f"/conversations/{cid}", headers=ben.headers)
    members = {p["userId"]: p["role"] for p in conversation.json()["conversation"]["participants"]}
    assert members == {str(ben.id): "OWNER"}
    for q in ("ann", "deleted"):
        found = await client.get("/users/search", params={"q": q}, headers=ben.headers)
        assert found.json()["users"] == []

    # The name and the address are free; the tombstone cannot be brought back.
    assert (await register("ann")).username == "ann"
    await node.services.admin.set_admin_by_username("ben", admin=True)
    back = await client.post(f"/admin/users/{ann.id}/reactivate", headers=ben.headers)
    assert_error(back, 404, "user_not_found")


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    directory = tmp_path_factory.mktemp("deletion")
    async with own_database(backend, directory) as env:
        started = start_server(directory / "n1", env)
        try:
            yield started
        finally:
            started.stop()


async def test_deleting_an_account_cuts_its_sockets_and_tells_the_others(server: Server) -> None:
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=10) as http,
        clients(server.base) as connect,
    ):
        ann, ben = await register(http), await register(http)
        cid = await group(http, ann, ben)
        phone = await login(http, ann)
        anns = [await connect(ann), await connect(phone)]
        bens = await connect(ben)

        done = await http.request(
            "DELETE", "/users/me", json={"password": ann.password}, headers=ann.headers
        )
        assert done.status_code == 200, done.text
        for s in anns:
            await s.wait_disconnected(within=10)
        removed = await bens.wait_for("participant_removed")
        assert removed["conversationId"] == cid
        assert removed["userId"] == ann.id
        # Ben's client learns the sender's new face: the tombstone.
        updated = await bens.wait_for("user_updated", lambda d: d["user"]["id"] == ann.id)
        assert updated["user"]["id"] == ann.id
        assert updated["user"]["displayName"] == "Deleted user"

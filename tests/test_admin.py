"""Server administration: deactivating and reactivating accounts.

Over HTTP on an in-process node: who may do it, what a deactivated account can no
longer do, what reactivation gives back. Over real sockets on `hubbub serve` (two nodes
on the PostgreSQL run): deactivation cuts every socket of the account at once, by the
admin API on any node, and by the terminal's `hubbub deactivate` (through Redis, or,
without it, through the node's session sweep).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hubbub.app import Node
from tests.conftest import Account, Backend, RegisterFn
from tests.gw import Client, Server, clients, group, login, own_database, register, start_server


async def _make_admin(node: Node, who: Account) -> None:
    await node.services.admin.set_admin_by_username(who.username, admin=True)


async def _login(client: httpx.AsyncClient, who: Account, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": who.username, "password": password})


async def test_only_an_administrator_changes_an_account_and_never_their_own(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ann, ben = await register("boss"), await register("ann"), await register("ben")
    refused = await client.post(f"/admin/users/{ben.id}/deactivate", headers=ann.headers)
    assert refused.status_code == 404, refused.text  # as for a conversation one is not in
    assert refused.json()["code"] == "not_found"

    await _make_admin(node, boss)
    own = await client.post(f"/admin/users/{boss.id}/deactivate", headers=boss.headers)
    assert own.status_code == 403, own.text
    assert own.json()["code"] == "own_account"
    missing = await client.post(
        "/admin/users/00000000-0000-7000-8000-000000000000/deactivate", headers=boss.headers
    )
    assert missing.status_code == 404, missing.text
    bad = await client.post("/admin/users/not-an-id/deactivate", headers=boss.headers)
    assert bad.status_code == 404, bad.text  # like every malformed id in a path
    # Nothing of the refusals changed Ben.
    assert (await _login(client, ben, ben.password)).status_code == 200


async def test_a_deactivated_account_cannot_sign_in_or_be_found_and_comes_back_reactivated(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    boss, ben = await register("boss"), await register("ben")
    await _make_admin(node, boss)
    done = await client.post(f"/admin/users/{ben.id}/deactivate", headers=boss.headers)
    assert done.status_code == 200, done.text
    assert done.json()["account"] == {
        "userId": str(ben.id),
        "username": "ben",
        "isActive": False,
        "isAdmin": False,
    }

    assert (await client.get("/users/me", headers=ben.headers)).status_code == 401
    kept_out = await _login(client, ben, ben.password)
    assert kept_out.status_code == 403, kept_out.text
    assert kept_out.json()["code"] == "account_deactivated"
    # Without the password the answer is every wrong login's: nothing is revealed.
    assert (await _login(client, ben, "wrong password!")).status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refreshToken": ben.refresh_token})
    assert refreshed.status_code == 401, refreshed.text
    found = await client.get("/users/search", params={"q": "ben"}, headers=boss.headers)
    assert [u["username"] for u in found.json()["users"]] == []

    back = await client.post(f"/admin/users/{ben.id}/reactivate", headers=boss.headers)
    assert back.status_code == 200, back.text
    assert back.json()["account"]["isActive"] is True
    assert (await _login(client, ben, ben.password)).status_code == 200
    # Sessions from before the deactivation stay ended.
    stale = await client.post("/auth/refresh", json={"refreshToken": ben.refresh_token})
    assert stale.status_code == 401, stale.text


# Over real sockets -----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def nodes(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[list[Server], dict[str, str]]]:
    directory = tmp_path_factory.mktemp("admin")
    async with own_database(backend, directory) as env:
        env |= {"HUBBUB_SESSION_SWEEP_S": "0.5"}
        started: list[Server] = []
        try:
            for name in ("n1", "n2") if backend.is_postgres else ("n1",):
                started.append(start_server(directory / name, env))
            yield started, started[0].env
        finally:
            for s in started:
                s.stop()


def _cli(server: Server, *args: str) -> str:
    env = {k: v for k, v in server.env.items() if k.startswith("HUBBUB_")}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hubbub", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=server.log.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("by", ["admin API", "terminal"])
async def test_deactivation_cuts_every_socket_on_every_node(
    nodes: tuple[list[Server], dict[str, str]], by: str
) -> None:
    servers, _ = nodes
    first = servers[0]
    async with (
        httpx.AsyncClient(base_url=first.base, timeout=10) as http,
        clients(servers[0].base) as on1,
        clients(servers[-1].base) as on_last,
    ):
        boss, ben = await register(http), await register(http)
        _cli(first, "promote", "--username", boss.username)
        cid = await group(http, boss, ben)
        other_session = await login(http, ben)
        sockets = [await on1(ben), await on_last(ben), await on_last(other_session)]
        before = await sockets[0].send(cid, "said before the deactivation")

        if by == "admin API":
            done = await http.post(f"/admin/users/{ben.id}/deactivate", headers=boss.headers)
            assert done.status_code == 200, done.text
        else:
            assert "deactivated" in _cli(first, "deactivate", "--username", ben.username)
        for s in sockets:
            await s.wait_disconnected(within=10)

        again = Client(servers[-1].base)
        assert await again.connect(auth={"token": ben.token, "userId": ben.id}) is False
        messages = await http.get(f"/conversations/{cid}/messages", headers=boss.headers)
        assert before["id"] in [m["id"] for m in messages.json()["messages"]]  # kept
        _cli(first, "reactivate", "--username", ben.username)
        back = await login(http, ben)
        fresh = await on_last(back)
        assert not fresh.disconnected
        await fresh.send(cid, "back again")


def test_the_terminal_refuses_an_unknown_user(
    nodes: tuple[list[Server], dict[str, str]], tmp_path: Path
) -> None:
    servers, _ = nodes
    env = {k: v for k, v in servers[0].env.items() if k.startswith("HUBBUB_")}
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "deactivate", "--username", "nobody_here"],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "User not found" in done.stderr

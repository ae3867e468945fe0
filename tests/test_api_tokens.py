"""API tokens and bot users, over HTTP on an in-process node and over real sockets on
`hubbub serve` (two nodes sharing PostgreSQL and Redis on the PostgreSQL run).

A token works as `Authorization: Bearer` and as the handshake token, within its scopes;
revoking it refuses it at once and cuts its live sockets on every node. A bot is a user
its owner adds to conversations; it has no password login and shows as a bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hubbub.app import Node
from tests.conftest import Account, Backend, RegisterFn, assert_error, count_rows
from tests.gw import Client, Server, clients, cluster, group, register

MESSAGES = "/conversations/{}/messages"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_token(
    client: httpx.AsyncClient, headers: dict[str, str], scopes: list[str], **extra: Any
) -> dict[str, Any]:
    made = await client.post(
        "/users/me/tokens", json={"name": "ci", "scopes": scopes, **extra}, headers=headers
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def new_group(client: httpx.AsyncClient, owner: Account, *members: Any) -> str:
    made = await client.post(
        "/conversations",
        json={"type": "GROUP", "name": "builds", "participantIds": [str(m) for m in members]},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["conversation"]["id"])


# Tokens over HTTP ---------------------------------------------------------------------


async def test_a_token_is_shown_once_stored_hashed_and_listed_with_its_last_use(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    made = await make_token(client, ann.headers, ["read"])
    secret = made["secret"]
    assert secret.startswith("hbt_")
    assert made["token"]["scopes"] == ["read"]
    assert made["token"]["lastUsedAt"] is None

    listed = (await client.get("/users/me/tokens", headers=ann.headers)).json()
    assert [t["id"] for t in listed["tokens"]] == [made["token"]["id"]]
    assert secret not in str(listed)
    # Stored as its hash: the secret is nowhere in the database.
    async with node.services.db.read() as session:
        stored = (await session.execute(text("SELECT token_hash FROM api_tokens"))).scalars().all()
    assert len(stored) == 1
    assert secret not in stored[0]
    assert await count_rows(node, "api_tokens") == 1

    me = await client.get("/users/me", headers=bearer(secret))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["id"] == str(ann.id)
    listed = (await client.get("/users/me/tokens", headers=ann.headers)).json()
    assert listed["tokens"][0]["lastUsedAt"] is not None


async def test_each_scope_opens_exactly_its_calls(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await new_group(client, ann, ben.id)
    read = (await make_token(client, ann.headers, ["read"]))["secret"]
    send = (await make_token(client, ann.headers, ["send"]))["secret"]
    manage = (await make_token(client, ann.headers, ["manage"]))["secret"]
    body = {"content": "from a token"}

    assert (await client.get(MESSAGES.format(cid), headers=bearer(read))).status_code == 200
    refused = await client.post(MESSAGES.format(cid), json=body, headers=bearer(read))
    assert_error(refused, 403, "insufficient_scope")
    assert_error(await client.get("/users/me", headers=bearer(send)), 403, "insufficient_scope")
    sent = await client.post(MESSAGES.format(cid), json=body, headers=bearer(send))
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["sender"]["id"] == str(ann.id)
    assert_error(
        await client.post(MESSAGES.format(cid), json=body, headers=bearer(manage)),
        403,
        "insufficient_scope",
    )
    renamed = await client.patch(
        f"/conversations/{cid}", json={"name": "renamed"}, headers=bearer(manage)
    )
    assert renamed.status_code == 200, renamed.text
    # The refused sends stored nothing.
    history = (await client.get(MESSAGES.format(cid), headers=ann.headers)).json()["messages"]
    assert [m["content"] for m in history if m["type"] != "SYSTEM"] == ["from a token"]


async def test_a_token_cannot_grant_more_than_it_holds_nor_log_out(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    manage = (await make_token(client, ann.headers, ["manage"]))["secret"]
    wider = await client.post(
        "/users/me/tokens", json={"name": "x", "scopes": ["read"]}, headers=bearer(manage)
    )
    assert_error(wider, 403, "scope_not_held")
    same = await make_token(client, bearer(manage), ["manage"])
    assert same["token"]["scopes"] == ["manage"]
    assert_error(await client.post("/auth/logout", json={}, headers=bearer(manage)), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},  # 400 invalid_enum, as every enum
        {"name": "", "scopes": ["read"]},
        {"scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "expiresAt": "tomorrow"},
        {"name": "x", "scopes": ["read"], "expiresAt": 0},
        {"name": "x", "scopes": ["read"], "expiresAt": "2030-01-01T00:00:00"},  # no zone
        {"name": "x", "scopes": ["read"], "extra": 1},
    ],
)
async def test_a_bad_token_request_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, register: RegisterFn, body: dict[str, Any]
) -> None:
    ann = await register("ann")
    refused = await client.post("/users/me/tokens", json=body, headers=ann.headers)
    assert_error(refused, 400 if body["scopes"] == ["admin"] else 422)
    assert (await client.get("/users/me/tokens", headers=ann.headers)).json() == {"tokens": []}


async def test_a_revoked_or_expired_or_unknown_token_is_refused(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    made = await make_token(client, ann.headers, ["read"])
    secret, token_id = made["secret"], made["token"]["id"]
    assert (await client.get("/users/me", headers=bearer(secret))).status_code == 200

    # Someone else's token is not theirs to revoke.
    assert_error(await client.delete(f"/users/me/tokens/{token_id}", headers=ben.headers), 404)
    assert (await client.get("/users/me", headers=bearer(secret))).status_code == 200
    done = await client.delete(f"/users/me/tokens/{token_id}", headers=ann.headers)
    assert done.status_code == 200, done.text
    assert_error(await client.get("/users/me", headers=bearer(secret)), 401, "invalid_token")
    assert (await client.get("/users/me/tokens", headers=ann.headers)).json() == {"tokens": []}
    assert_error(await client.delete(f"/users/me/tokens/{token_id}", headers=ann.headers), 404)

    # An expiry already past makes a token refused from the start.
    past = await make_token(client, ann.headers, ["read"], expiresAt="2001-01-01T00:00:00Z")
    assert_error(await client.get("/users/me", headers=bearer(past["secret"])), 401)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    short = await make_token(client, ann.headers, ["read"], expiresAt=soon)
    assert short["token"]["expiresAt"] is not None
    await asyncio.sleep(1.2)
    assert_error(await client.get("/users/me", headers=bearer(short["secret"])), 401)
    assert_error(await client.get("/users/me", headers=bearer("hbt_" + "x" * 43)), 401)


# Bots ---------------------------------------------------------------------------------


async def test_a_bot_is_owned_added_like_anyone_and_shown_as_a_bot(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    made = await client.post(
        "/bots", json={"username": "builds", "displayName": "Build bot"}, headers=ann.headers
    )
    assert made.status_code == 201, made.text
    bot = made.json()["bot"]
    assert bot["user"]["isBot"] is True
    assert bot["ownerId"] == str(ann.id)
    assert_error(
        await client.post("/bots", json={"username": "BUILDS"}, headers=ben.headers),
        409,
        "username_taken",
    )
    assert (await client.get("/bots", headers=ann.headers)).json()["bots"] == [bot]
    assert (await client.get("/bots", headers=ben.headers)).json()["bots"] == []

    # No password login, whatever is typed.
    for password in ("", "!bot", "correct horse battery"):
        login = await client.post("/auth/login", json={"email": "builds", "password": password})
        assert login.status_code in (401, 422), login.text

    # Only its owner makes its tokens; to anyone else it does not exist.
    assert_error(
        await client.post(
            f"/bots/{bot['user']['id']}/tokens",
            json={"name": "ci", "scopes": ["send"]},
            headers=ben.headers,
        ),
        404,
        "bot_not_found",
    )
    token = await make_token(client, ann.headers, ["send"])  # ann's own: not the bot's
    bot_token = await client.post(
        f"/bots/{bot['user']['id']}/tokens",
        json={"name": "ci", "scopes": ["send", "read"]},
        headers=ann.headers,
    )
    assert bot_token.status_code == 201, bot_token.text
    secret = bot_token.json()["secret"]
    assert bot_token.json()["token"]["scopes"] == ["read", "send"]
    assert token["token"]["userId"] == str(ann.id)
    assert bot_token.json()["token"]["userId"] == bot["user"]["id"]

    # Not a member yet: like anyone, it cannot see the conversation.
    cid = await new_group(client, ann, ben.id)
    assert_error(
        await client.post(MESSAGES.format(cid), json={"content": "hi"}, headers=bearer(secret)),
        404,
    )
    added = await client.post(
        f"/conversations/{cid}/participants",
        json={"userIds": [bot["user"]["id"]]},
        headers=ann.headers,
    )
    assert added.status_code in (200, 201), added.text
    sent = await client.post(
        MESSAGES.format(cid), json={"content": "build 12 passed"}, headers=bearer(secret)
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["sender"]["isBot"] is True
    history = (await client.get(MESSAGES.format(cid), headers=ben.headers)).json()["messages"]
    from_bot = [m for m in history if m["content"] == "build 12 passed"]
    assert from_bot[0]["sender"]["isBot"] is True
    user = (await client.get(f"/users/{bot['user']['id']}", headers=cat.headers)).json()
    assert user["user"]["isBot"] is True
    me = (await client.get("/users/me", headers=ann.headers)).json()
    assert me["user"]["isBot"] is False

    # Deleted: its tokens stop, it leaves the list.
    assert_error(await client.delete(f"/bots/{bot['user']['id']}", headers=ben.headers), 404)
    gone = await client.delete(f"/bots/{bot['user']['id']}", headers=ann.headers)
    assert gone.status_code == 200, gone.text
    assert_error(await client.get(MESSAGES.format(cid), headers=bearer(secret)), 401)
    assert (await client.get("/bots", headers=ann.headers)).json()["bots"] == []


async def test_a_bot_cannot_make_bots(client: httpx.AsyncClient, register: RegisterFn) -> None:
    ann = await register("ann")
    bot = (await client.post("/bots", json={"username": "helper"}, headers=ann.headers)).json()
    made = await client.post(
        f"/bots/{bot['bot']['user']['id']}/tokens",
        json={"name": "all", "scopes": ["read", "send", "manage"]},
        headers=ann.headers,
    )
    secret = made.json()["secret"]
    refused = await client.post("/bots", json={"username": "child"}, headers=bearer(secret))
    assert_error(refused, 403, "bot_cannot_own_bots")


# Over real sockets ---------------------------------------------------------------------


@pytest.fixture(scope="module")
async def nodes(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[Server]]:
    async with cluster(backend, tmp_path_factory.mktemp("tokens"), {}) as started:
        yield started


async def _token(http: httpx.AsyncClient, headers: dict[str, str], scopes: list[str]) -> Any:
    made = await http.post(
        "/users/me/tokens", json={"name": "sock", "scopes": scopes}, headers=headers
    )
    assert made.status_code == 201, made.text
    return made.json()


async def test_a_token_opens_a_socket_within_its_scopes(nodes: list[Server]) -> None:
    first, last = nodes[0], nodes[-1]
    async with (
        httpx.AsyncClient(base_url=first.base, timeout=10) as http,
        clients(last.base) as on_last,
    ):
        ann, ben = await register(http), await register(http)
        cid = await group(http, ann, ben)
        read = (await _token(http, ann.headers, ["read"]))["secret"]
        send = (await _token(http, ann.headers, ["send"]))["secret"]
        both = (await _token(http, ann.headers, ["read", "send"]))["secret"]

        no_read = Client(last.base)
        assert await no_read.connect(auth={"token": send}) is False
        reader: Client = await on_last(auth={"token": read})
        refused = await reader.call(
            "send_message", {"conversationId": cid, "content": "no", "optimisticId": "r1"}
        )
        assert refused["ok"] is False
        assert refused["error"]["code"] == "insufficient_scope"
        await reader.barrier()  # reading is allowed
        writer: Client = await on_last(headers={"Authorization": f"Bearer {both}"})
        sent = await writer.send(cid, "over a token")
        assert sent["sender"]["id"] == ann.id
        got = await reader.wait_for(
            "new_message", lambda m: m["message"]["content"] == "over a token"
        )
        assert got["message"]["conversationId"] == cid
        r = await http.get(f"/conversations/{cid}/messages", headers=ann.headers)
        assert [m["content"] for m in r.json()["messages"] if m["type"] != "SYSTEM"] == [
            "over a token"
        ]


async def test_revoking_a_token_cuts_its_sockets_on_every_node(nodes: list[Server]) -> None:
    first, last = nodes[0], nodes[-1]
    async with (
        httpx.AsyncClient(base_url=first.base, timeout=10) as http,
        clients(first.base) as on_first,
        clients(last.base) as on_last,
    ):
        ann, ben = await register(http), await register(http)
        cid = await group(http, ann, ben)
        made = await _token(http, ann.headers, ["read", "send"])
        secret, token_id = made["secret"], made["token"]["id"]
        other = (await _token(http, ann.headers, ["read"]))["secret"]
        cut = [await on_first(auth={"token": secret}), await on_last(auth={"token": secret})]
        kept = await on_last(auth={"token": other})
        login: Client = await on_first(ann)

        done = await http.delete(f"/users/me/tokens/{token_id}", headers=ann.headers)
        assert done.status_code == 200, done.text
        for s in cut:
            await s.wait_disconnected(within=10)
        again = Client(last.base)
        assert await again.connect(auth={"token": secret}) is False
        r = await http.get("/users/me", headers=bearer(secret))
        assert r.status_code == 401
        # The user's other token and their login's socket stay, and hear the conversation.
        await login.send(cid, "still here")
        await kept.wait_for("new_message", lambda m: m["message"]["content"] == "still here")
        assert not kept.disconnected
        assert not login.disconnected


async def test_an_administrator_sees_every_bot_and_may_manage_it(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, boss = await register("ann"), await register("boss")
    await node.services.admin.set_admin_by_username(boss.username, admin=True)
    bot = (await client.post("/bots", json={"username": "helper"}, headers=ann.headers)).json()
    bot_id = bot["bot"]["user"]["id"]

    listed = await client.get("/admin/users", params={"q": "helper"}, headers=boss.headers)
    (row,) = listed.json()["users"]
    assert (row["id"], row["isBot"], row["botOwnerId"]) == (bot_id, True, str(ann.id))
    people = await client.get("/admin/users", params={"q": "ann"}, headers=boss.headers)
    assert [(u["isBot"], u["botOwnerId"]) for u in people.json()["users"]] == [(False, None)]

    # Not the admin's own bot, yet theirs to manage; not in their own list.
    assert (await client.get("/bots", headers=boss.headers)).json() == {"bots": []}
    made = await client.post(
        f"/bots/{bot_id}/tokens", json={"name": "ops", "scopes": ["read"]}, headers=boss.headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["token"]["userId"] == bot_id
    gone = await client.delete(f"/bots/{bot_id}", headers=boss.headers)
    assert gone.status_code == 200, gone.text
    assert_error(await client.get("/users/me", headers=bearer(made.json()["secret"])), 401)
    assert (await client.get("/bots", headers=ann.headers)).json() == {"bots": []}


async def test_deleting_an_account_ends_its_tokens_and_its_bots(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    own = (await make_token(client, ann.headers, ["read"]))["secret"]
    bot = (await client.post("/bots", json={"username": "helper"}, headers=ann.headers)).json()
    made = await client.post(
        f"/bots/{bot['bot']['user']['id']}/tokens",
        json={"name": "ci", "scopes": ["read"]},
        headers=ann.headers,
    )
    bot_secret = made.json()["secret"]
    assert (await client.get("/users/me", headers=bearer(bot_secret))).status_code == 200
    gone = await client.request(
        "DELETE", "/users/me", json={"password": ann.password}, headers=ann.headers
    )
    assert gone.status_code == 200, gone.text
    for secret in (own, bot_secret):
        assert_error(await client.get("/users/me", headers=bearer(secret)), 401, "invalid_token")

"""Incoming webhooks on an in-process node: a bot's URL posts into one conversation,
in hubbub's shape and the Slack-style one; an Idempotency-Key makes a retry return the
original; a wrong secret, a deleted webhook, a bot that left, an oversize body or a
wrong shape is a clear 4xx that stores nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubbub.app import Node
from tests.conftest import Account, Backend, RegisterFn, assert_error, count_rows
from tests.gw import group, history, register, serving

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ci_notify.sh"


async def _setup(client: httpx.AsyncClient, register: RegisterFn) -> tuple[Account, str, str, Any]:
    """(owner, bot id, conversation id, the new webhook's answer)."""
    ann, ben = await register("ann"), await register("ben")
    bot = (await client.post("/bots", json={"username": "ci_bot"}, headers=ann.headers)).json()
    bot_id = bot["bot"]["user"]["id"]
    made = await client.post(
        "/conversations",
        json={"type": "GROUP", "name": "builds", "participantIds": [str(ben.id), bot_id]},
        headers=ann.headers,
    )
    assert made.status_code == 201, made.text
    cid = made.json()["conversation"]["id"]
    hook = await client.post(
        f"/bots/{bot_id}/webhooks", json={"conversationId": cid, "name": "CI"}, headers=ann.headers
    )
    assert hook.status_code == 201, hook.text
    return ann, bot_id, cid, hook.json()


def _path(hook: Any) -> str:
    return str(hook["url"]).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


async def _texts(client: httpx.AsyncClient, who: Account, cid: str) -> list[dict[str, Any]]:
    r = await client.get(f"/conversations/{cid}/messages", headers=who.headers)
    return [m for m in r.json()["messages"] if m["type"] != "SYSTEM"]


async def test_a_webhook_posts_as_its_bot_in_both_shapes(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, bot_id, cid, hook = await _setup(client, register)
    assert hook["url"].endswith(f"/hooks/{hook['webhook']['id']}/{hook['secret']}")
    path = _path(hook)
    own = await client.post(path, json={"content": "build 7 passed"})
    assert own.status_code == 201, own.text
    assert own.json()["message"]["sender"] == {
        "id": bot_id,
        "username": "ci_bot",
        "displayName": None,
        "avatar": None,
        "isBot": True,
    }
    slack = await client.post(path, json={"text": "deploy done", "username": "deployer"})
    assert slack.status_code == 201, slack.text
    message = slack.json()["message"]
    # The label is shown beside the bot, never as another user.
    assert message["sender"]["id"] == bot_id
    assert message["metadata"] == {"label": "deployer"}
    assert [m["content"] for m in await _texts(client, ann, cid)][-2:] in (
        ["build 7 passed", "deploy done"],
        ["deploy done", "build 7 passed"],
    )
    listed = (await client.get(f"/bots/{bot_id}/webhooks", headers=ann.headers)).json()
    assert [w["id"] for w in listed["webhooks"]] == [hook["webhook"]["id"]]
    assert hook["secret"] not in str(listed)


async def test_an_idempotency_key_returns_the_original(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, _, cid, hook = await _setup(client, register)
    path = _path(hook)
    key = {"Idempotency-Key": "run-41"}
    first = await client.post(path, json={"content": "run 41 failed"}, headers=key)
    again = await client.post(path, json={"content": "run 41 failed"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    other = await client.post(
        path, json={"content": "run 41 failed"}, headers={"Idempotency-Key": "run-42"}
    )
    assert other.status_code == 201
    without = [await client.post(path, json={"content": "no key"}) for _ in range(2)]
    assert [r.status_code for r in without] == [201, 201]
    assert len(await _texts(client, ann, cid)) == 4


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"content": "a", "text": "b"}, 422),
        ({"content": " ", "text": "\t"}, 422),
        ({"content": None, "text": None}, 422),
        ({"username": "x"}, 422),
        ({"content": 5}, 422),
        ({"content": "   "}, 422),
        ({"text": "hi", "channel": "#general"}, 422),
        ({"text": "hi", "username": ""}, 422),
        ({"content": "x" * 20_000}, 422),  # over a message's length
        ({"content": "x" * 2_000_000}, 413),  # over the node's body limit: never parsed
        ([1, 2], 422),
    ],
)
async def test_a_bad_body_is_a_clear_error_and_stores_nothing(
    node: Node, client: httpx.AsyncClient, register: RegisterFn, body: Any, status: int
) -> None:
    *_, hook = await _setup(client, register)
    before = await count_rows(node, "messages")
    refused = await client.post(_path(hook), json=body)
    assert_error(refused, status)
    assert await count_rows(node, "messages") == before


async def test_a_webhook_is_held_to_its_bots_send_budget(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    # A bot gets the budget of anyone who sends (HUBBUB_SEND_RATE_PER_S, burst
    # HUBBUB_SEND_BURST: 10/s, 30): past it, 429 with Retry-After, and nothing stored.
    ann, _, cid, hook = await _setup(client, register)
    path = _path(hook)
    accepted = 0
    for i in range(200):
        r = await client.post(path, json={"text": f"alert {i}"})
        if r.status_code == 429:
            break
        assert r.status_code == 201, r.text
        accepted += 1
    else:
        raise AssertionError("200 posts in a row were all accepted")
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert accepted >= 30
    shown = await client.get(f"/conversations/{cid}/messages?limit=100", headers=ann.headers)
    stored = [m for m in shown.json()["messages"] if m["type"] != "SYSTEM"]
    assert len(stored) == accepted


async def test_a_wrong_secret_a_deleted_webhook_or_a_bot_gone_answers_404(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, bot_id, cid, hook = await _setup(client, register)
    hook_id = hook["webhook"]["id"]
    body = {"content": "hello"}
    before = await count_rows(node, "messages")
    for path in (
        f"/hooks/{hook_id}/not-the-secret",
        f"/hooks/{hook_id}/{hook['secret']}x",
        f"/hooks/00000000-0000-0000-0000-000000000000/{hook['secret']}",
        f"/hooks/not-an-id/{hook['secret']}",
    ):
        assert_error(await client.post(path, json=body), 404)

    rotated = await client.post(f"/bots/{bot_id}/webhooks/{hook_id}/rotate", headers=ann.headers)
    assert rotated.status_code == 200, rotated.text
    assert_error(await client.post(_path(hook), json=body), 404, "webhook_not_found")
    assert (await client.post(_path(rotated.json()), json=body)).status_code == 201

    # The bot leaves (removed by the owner): the webhook answers 404.
    removed = await client.delete(
        f"/conversations/{cid}/participants/{bot_id}", headers=ann.headers
    )
    assert removed.status_code == 200, removed.text
    assert_error(await client.post(_path(rotated.json()), json=body), 404, "webhook_not_found")
    assert await count_rows(node, "messages") == before + 1 + 1  # the post, the SYSTEM removal

    deleted = await client.delete(f"/bots/{bot_id}/webhooks/{hook_id}", headers=ann.headers)
    assert deleted.status_code == 200
    assert_error(await client.post(_path(rotated.json()), json=body), 404, "webhook_not_found")
    listed = (await client.get(f"/bots/{bot_id}/webhooks", headers=ann.headers)).json()
    assert listed == {"webhooks": []}


async def test_a_bot_muted_in_the_conversation_cannot_post_through_its_webhook(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, bot_id, cid, hook = await _setup(client, register)
    muted = await client.patch(
        f"/conversations/{cid}/participants/{bot_id}",
        json={"canSendMessages": False},
        headers=ann.headers,
    )
    assert muted.status_code == 200, muted.text
    before = await count_rows(node, "messages")
    assert_error(await client.post(_path(hook), json={"content": "hi"}), 403)
    assert await count_rows(node, "messages") == before


async def test_only_the_bots_owner_makes_its_webhooks_into_their_conversations(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, bot_id, cid, _ = await _setup(client, register)
    eve = await register("eve")
    refused = await client.post(
        f"/bots/{bot_id}/webhooks", json={"conversationId": cid, "name": "x"}, headers=eve.headers
    )
    assert_error(refused, 404, "bot_not_found")
    elsewhere = await client.post(
        "/conversations",
        json={"type": "GROUP", "name": "private", "participantIds": [str(eve.id)]},
        headers=ann.headers,
    )
    not_in = await client.post(
        f"/bots/{bot_id}/webhooks",
        json={"conversationId": elsewhere.json()["conversation"]["id"], "name": "x"},
        headers=ann.headers,
    )
    assert_error(not_in, 404)


async def test_the_ci_example_posts_with_one_curl_line(backend: Backend, tmp_path: Path) -> None:
    """examples/ci_notify.sh against `hubbub serve`: a text with quotes, a backslash and
    two lines arrives as typed, and a retried job with its key posts once."""
    async with (
        serving(backend, tmp_path, {}) as server,
        httpx.AsyncClient(base_url=server.base, timeout=10) as http,
    ):
        ann, ben = await register(http), await register(http)
        bot = await http.post("/bots", json={"username": "ci_runner"}, headers=ann.headers)
        bot_id = bot.json()["bot"]["user"]["id"]
        cid = await group(http, ann, ben)
        added = await http.post(
            f"/conversations/{cid}/participants", json={"userIds": [bot_id]}, headers=ann.headers
        )
        assert added.status_code in (200, 201), added.text
        hook = await http.post(
            f"/bots/{bot_id}/webhooks",
            json={"conversationId": cid, "name": "CI"},
            headers=ann.headers,
        )
        url = hook.json()["url"].replace(
            hook.json()["url"].split("/hooks/")[0], server.base.rstrip("/")
        )
        text = 'build "12" passed\\ on main\n\tsee the log'
        env = {"PATH": os.environ["PATH"], "HUBBUB_WEBHOOK_URL": url}
        for _ in range(2):
            run = await asyncio.to_thread(
                subprocess.run,
                ["sh", str(EXAMPLE), text, "build-12"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert run.returncode == 0, run.stderr
        bad = await asyncio.to_thread(
            subprocess.run,
            ["sh", str(EXAMPLE), "x"],
            env={**env, "HUBBUB_WEBHOOK_URL": url + "x"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert bad.returncode != 0  # curl -f: a 404 fails the job's step
        posted = [m for m in await history(http, ben, cid) if m["type"] != "SYSTEM"]
        assert [(m["content"], m["sender"]["id"]) for m in posted] == [(text, bot_id)]
        assert posted[0]["sender"]["isBot"] is True

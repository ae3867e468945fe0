"""Budgets over HTTP: every kind of write has one; past it the answer is 429
`rate_limited` with Retry-After, and nothing has changed (no row, no event).

Budgets are set low for these tests (3 at once, then one an hour and more), except
those the scene itself spends.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hubbub.actions.budgets import Budgets
from hubbub.app import Node
from hubbub.config import Budget
from hubbub.domain.errors import RateLimited
from hubbub.realtime.limits import MemoryRateLimiter
from hubbub.store.models import Base
from tests.chat import Recorder, create_group, send
from tests.conftest import Account, RegisterFn, assert_error

BURST = 3
LOW = f"*=0.01/{BURST},register=6000/1000,register_address=6000/1000,added_to=6000/1000"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
    b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"budgets": LOW}


@dataclass
class Scene:
    node: Node
    client: httpx.AsyncClient
    owner: Account
    member: Account
    others: list[Account]
    conversation: str
    messages: list[str]

    def conv(self, path: str = "") -> str:
        return f"/conversations/{self.conversation}{path}"


@pytest.fixture
async def scene(node: Node, client: httpx.AsyncClient, register: RegisterFn) -> Scene:
    owner, member = await register(), await register()
    others = [await register() for _ in range(BURST + 1)]
    conversation = await create_group(client, owner, member)
    messages = [(await send(client, owner, conversation, f"m{i}"))["id"] for i in range(BURST + 1)]
    return Scene(node, client, owner, member, others, conversation, messages)


async def database_state(node: Node) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the sessions' own (logins add those)."""
    state = {}
    async with node.services.db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in ("refresh_tokens", "revoked_tokens"):
                continue
            rows = await session.execute(text(f"SELECT * FROM {table.name}"))  # noqa: S608
            state[table.name] = sorted(map(tuple, rows), key=repr)
    return state


async def assert_refused_and_nothing_changed(
    node: Node, attempt: Callable[[], Awaitable[httpx.Response]]
) -> None:
    before = await database_state(node)
    recorder = Recorder()
    node.services.bus.subscribe(recorder)
    response = await attempt()
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 60  # an hour-scale refill, in seconds
    assert recorder.events == []
    assert await database_state(node) == before


Write = Callable[[Scene, int], Awaitable[httpx.Response]]


async def react(s: Scene, i: int) -> httpx.Response:
    return await s.client.post(
        s.conv(f"/messages/{s.messages[i]}/reactions"),
        headers=s.owner.headers,
        json={"emoji": "👍"},
    )


async def edit(s: Scene, i: int) -> httpx.Response:
    return await s.client.patch(
        s.conv(f"/messages/{s.messages[i]}"), headers=s.owner.headers, json={"content": f"e{i}"}
    )


async def delete(s: Scene, i: int) -> httpx.Response:
    return await s.client.delete(s.conv(f"/messages/{s.messages[i]}"), headers=s.owner.headers)


async def create_conversation(s: Scene, i: int) -> httpx.Response:
    body = {"type": "GROUP", "name": f"g{i}", "participantIds": [str(s.others[i].id)]}
    # The member: the owner spent a token on the scene's conversation.
    return await s.client.post("/conversations", headers=s.member.headers, json=body)


async def rename(s: Scene, i: int) -> httpx.Response:
    return await s.client.patch(s.conv(), headers=s.owner.headers, json={"name": f"name {i}"})


async def conversation_settings(s: Scene, i: int) -> httpx.Response:
    body = {"isArchived": i % 2 == 0}
    return await s.client.put(s.conv("/settings"), headers=s.owner.headers, json=body)


async def profile(s: Scene, i: int) -> httpx.Response:
    return await s.client.put("/users/me", headers=s.owner.headers, json={"bio": f"bio {i}"})


async def add_participant(s: Scene, i: int) -> httpx.Response:
    body = {"userIds": [str(s.others[i].id)]}
    return await s.client.post(s.conv("/participants"), headers=s.owner.headers, json=body)


async def mute_member(s: Scene, i: int) -> httpx.Response:
    body = {"canSendMessages": i % 2 == 1}
    path = s.conv(f"/participants/{s.member.id}")
    return await s.client.patch(path, headers=s.owner.headers, json=body)


async def create_space(s: Scene, i: int) -> httpx.Response:
    return await s.client.post("/spaces", headers=s.owner.headers, json={"name": f"space {i}"})


async def upload(s: Scene, i: int) -> httpx.Response:
    files = {"file": (f"dot{i}.png", PNG, "image/png")}
    data = {"type": "message_attachment"}
    return await s.client.post("/files/upload", headers=s.owner.headers, files=files, data=data)


async def mark_read(s: Scene, i: int) -> httpx.Response:
    path = s.conv(f"/messages/{s.messages[i]}/read")
    return await s.client.put(path, headers=s.member.headers)


async def change_email(s: Scene, i: int) -> httpx.Response:
    body = {"password": s.owner.password, "email": f"owner{i}@example.com"}
    return await s.client.post("/users/me/email", headers=s.owner.headers, json=body)


async def create_token(s: Scene, i: int) -> httpx.Response:
    body = {"name": f"token {i}", "scopes": ["read"]}
    return await s.client.post("/users/me/tokens", headers=s.owner.headers, json=body)


WRITES: dict[str, Write] = {
    "reaction": react,
    "edit": edit,
    "delete (the edit budget)": delete,
    "conversation_create": create_conversation,
    "conversation_update": rename,
    "conversation settings (the profile budget)": conversation_settings,
    "profile": profile,
    "participant add": add_participant,
    "participant change": mute_member,
    "space": create_space,
    "upload": upload,
    "read_marker": mark_read,
    "password_change (an email change)": change_email,
    "integration (an API token)": create_token,
}


@pytest.mark.parametrize("budget", list(Budget), ids=lambda budget: budget.key)
async def test_every_budget_refuses_in_words_of_its_own(budget: Budget) -> None:
    """A budget added without the words of its refusal would answer 500 when spent."""
    budgets = Budgets(MemoryRateLimiter(), {each: (0.01, 1) for each in Budget})
    await budgets.take(budget, "someone")
    with pytest.raises(RateLimited) as refused:
        await budgets.take(budget, "someone")
    assert refused.value.retry_after > 1
    assert refused.value.message != "Too many requests"  # the words of no budget
    assert refused.value.message.endswith("; try again later")


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
async def test_past_its_budget_a_write_is_refused_and_changes_nothing(
    scene: Scene, write: Write
) -> None:
    for i in range(BURST):
        response = await write(scene, i)
        assert response.status_code in (200, 201), response.text
    await assert_refused_and_nothing_changed(scene.node, lambda: write(scene, BURST))


async def test_budgets_are_per_user(scene: Scene) -> None:
    for i in range(BURST):
        assert (await rename(scene, i)).status_code == 200
    assert_error(await rename(scene, BURST), 429, "rate_limited")
    # An admin of the same conversation has a budget of their own.
    await mute_member(scene, 1)
    body = {"role": "ADMIN"}
    promoted = await scene.client.patch(
        scene.conv(f"/participants/{scene.member.id}"), headers=scene.owner.headers, json=body
    )
    assert promoted.status_code == 200, promoted.text
    renamed = await scene.client.patch(
        scene.conv(), headers=scene.member.headers, json={"name": "the member's name"}
    )
    assert renamed.status_code == 200, renamed.text


def from_address(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    app = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def register_from(client: httpx.AsyncClient, address: str) -> httpx.Response:
    name = f"r_{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "correct horse"}
    async with from_address(client, address) as c:
        return await c.post("/auth/register", json=body)


@pytest.mark.parametrize("settings_overrides", [{"budgets": "register_address=0.01/2"}])
async def test_registrations_per_address(node: Node, client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await register_from(client, "198.51.100.20")).status_code == 201
    await assert_refused_and_nothing_changed(node, lambda: register_from(client, "198.51.100.20"))
    assert (await register_from(client, "198.51.100.21")).status_code == 201


@pytest.mark.parametrize("settings_overrides", [{"budgets": "register=0.01/3"}])
async def test_registrations_for_everyone(node: Node, client: httpx.AsyncClient) -> None:
    for n in range(3):
        assert (await register_from(client, f"198.51.100.{30 + n}")).status_code == 201
    await assert_refused_and_nothing_changed(node, lambda: register_from(client, "198.51.100.40"))


@pytest.mark.parametrize("settings_overrides", [{"budgets": "added_to=0.01/2"}])
async def test_nobody_is_added_to_conversations_without_end(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    victim, bystander = await register(), await register()
    creators = [await register() for _ in range(3)]
    await create_group(client, creators[0], victim)
    await create_group(client, creators[1], victim)

    async def third() -> httpx.Response:
        body = {"type": "GROUP", "name": "again", "participantIds": [str(victim.id)]}
        return await client.post("/conversations", headers=creators[2].headers, json=body)

    await assert_refused_and_nothing_changed(node, third)
    # The creator may still make conversations with others.
    await create_group(client, creators[2], bystander)


@pytest.mark.parametrize("settings_overrides", [{"max_reactions_per_user_per_message": 2}])
async def test_distinct_reactions_per_user_per_message_are_capped(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    owner, member = await register(), await register()
    conversation = await create_group(client, owner, member)
    message = (await send(client, owner, conversation))["id"]
    path = f"/conversations/{conversation}/messages/{message}/reactions"

    async def put(who: Account, emoji: str) -> httpx.Response:
        return await client.post(path, headers=who.headers, json={"emoji": emoji})

    for emoji in ("👍", "🎉"):
        assert (await put(owner, emoji)).status_code == 200
    before = await database_state(node)
    recorder = Recorder()
    node.services.bus.subscribe(recorder)
    refused = await put(owner, "🔥")
    body = assert_error(refused, 422, "too_many_reactions")
    assert "2" in body["message"]
    assert recorder.events == []
    assert await database_state(node) == before
    # One already there is no new one; another user has a cap of their own; and after
    # taking one back there is room again.
    assert (await put(owner, "👍")).status_code == 200
    assert (await put(member, "🔥")).status_code == 200
    assert (await client.delete(path + "/🎉", headers=owner.headers)).status_code == 200
    reactions = (await put(owner, "🔥")).json()["reactions"]
    mine = {r["emoji"] for r in reactions if str(owner.id) in r["userIds"]}
    assert mine == {"👍", "🔥"}

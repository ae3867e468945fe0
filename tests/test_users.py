"""Users over HTTP: /users/me, profile updates, search, lookup (docs/http-api.md, Users)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from hubbub.app import Node
from tests.chat import Recorder
from tests.conftest import RegisterFn, assert_error
from tests.test_files import image_bytes, upload_ok

PUBLIC_USER_FIELDS = {
    "id",
    "username",
    "displayName",
    "avatar",
    "bio",
    "isOnline",
    "lastSeen",
    "createdAt",
    "isBot",
}


async def test_get_me_shows_email(client: httpx.AsyncClient, register: RegisterFn) -> None:
    acct = await register("hana")
    body = (await client.get("/users/me", headers=acct.headers)).json()
    assert body["user"]["email"] == "hana@example.com"
    assert body["user"]["username"] == "hana"
    assert body["user"]["isOnline"] is False


async def test_update_me_changes_profile_and_publishes_user_updated(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    acct = await register("ivan")
    recorder = Recorder()
    node.services.bus.subscribe(recorder)
    events = recorder.events
    avatar = await upload_ok(client, acct, image_bytes("PNG"), kind="avatar")
    events.clear()
    response = await client.put(
        "/users/me",
        headers=acct.headers,
        json={"displayName": "  Ivan I  ", "bio": "hello", "avatar": avatar["url"]},
    )
    assert response.status_code == 200
    user = response.json()["user"]
    assert (user["displayName"], user["bio"]) == ("Ivan I", "hello")
    assert user["avatar"].startswith(f"/files/{avatar['id']}/")
    again = (await client.get("/users/me", headers=acct.headers)).json()["user"]
    assert again["displayName"] == "Ivan I"
    assert len(events) == 1
    event = events[0]
    assert event.name == "user_updated"
    assert event.audience.contacts_of == acct.id
    assert set(event.payload) == {"user"}
    assert set(event.payload["user"]) == PUBLIC_USER_FIELDS  # no email to contacts
    assert event.payload["user"]["displayName"] == "Ivan I"


async def test_update_me_with_no_fields_changes_nothing(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    acct = await register("jack")
    before = (await client.get("/users/me", headers=acct.headers)).json()["user"]
    after = (await client.put("/users/me", headers=acct.headers, json={})).json()["user"]
    assert before == after


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": "x" * 101},
        {"displayName": ""},
        {"displayName": "   "},
        {"displayName": 5},
        {"displayName": "a\u0000b"},
        {"bio": "b" * 1001},
        {"avatar": "a" * 501},
        {"email": "new@example.com"},
        {"username": "renamed"},
    ],
)
async def test_update_me_rejects_bad_input_and_changes_nothing(
    client: httpx.AsyncClient, register: RegisterFn, body: dict[str, Any]
) -> None:
    acct = await register("kate")
    before = (await client.get("/users/me", headers=acct.headers)).json()["user"]
    assert_error(await client.put("/users/me", headers=acct.headers, json=body), 422)
    after = (await client.get("/users/me", headers=acct.headers)).json()["user"]
    assert before == after


async def test_get_user_hides_email(client: httpx.AsyncClient, register: RegisterFn) -> None:
    viewer = await register("leo")
    other = await register("mia")
    response = await client.get(f"/users/{other.id}", headers=viewer.headers)
    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == PUBLIC_USER_FIELDS
    assert user["username"] == "mia"
    assert "mia@example.com" not in response.text


async def test_get_user_unknown_or_malformed_id_is_404(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    viewer = await register()
    assert_error(await client.get(f"/users/{uuid.uuid4()}", headers=viewer.headers), 404)
    assert_error(await client.get("/users/not-a-uuid", headers=viewer.headers), 404)
    assert_error(await client.get(f"/users/{viewer.id}"), 401)


async def test_search_prefix_case_insensitive_on_username_and_display_name(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    viewer = await register("searcher")
    await register("Nora", displayName="Nightingale")
    await register("norbert")
    await register("oscar", displayName="Nordic Oscar")
    await register("penny")
    response = await client.get("/users/search", params={"q": "NOR"}, headers=viewer.headers)
    assert response.status_code == 200
    body = response.json()
    names = sorted(u["username"] for u in body["users"])
    assert names == ["Nora", "norbert", "oscar"]
    assert body["total"] == 3
    assert all(set(u) == PUBLIC_USER_FIELDS for u in body["users"])
    assert "@example.com" not in response.text
    # Prefix, not substring.
    mid = await client.get("/users/search", params={"q": "bert"}, headers=viewer.headers)
    assert mid.json()["users"] == []


async def test_search_treats_wildcards_literally(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    viewer = await register("viewer")
    await register("a_b")
    await register("axb")
    await register("a.c", displayName="100% real")
    await register("zed", displayName="100 proof")

    async def usernames(q: str) -> list[str]:
        r = await client.get("/users/search", params={"q": q}, headers=viewer.headers)
        assert r.status_code == 200
        return sorted(u["username"] for u in r.json()["users"])

    assert await usernames("a_") == ["a_b"]
    assert await usernames("%") == []
    assert await usernames("100%") == ["a.c"]
    assert await usernames("_") == []
    assert await usernames("\\") == []


async def test_search_limit_and_total(client: httpx.AsyncClient, register: RegisterFn) -> None:
    viewer = await register("looker")
    for i in range(4):
        await register(f"quinn{i}")
    r = await client.get("/users/search", params={"q": "quinn", "limit": 2}, headers=viewer.headers)
    body = r.json()
    assert [u["username"] for u in body["users"]] == ["quinn0", "quinn1"]
    assert body["total"] == 4


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {},
        {"q": "a", "limit": 0},
        {"q": "a", "limit": 51},
        {"q": "a", "limit": -1},
        {"q": "a", "limit": "ten"},
        {"q": "a", "limit": 10**30},
        {"q": "x" * 101},
        {"q": "a\u0000"},
    ],
)
async def test_search_bad_input_is_422(
    client: httpx.AsyncClient, register: RegisterFn, params: dict[str, Any]
) -> None:
    viewer = await register()
    assert_error(await client.get("/users/search", params=params, headers=viewer.headers), 422)


async def test_users_endpoints_require_auth(client: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/users/me"), ("PUT", "/users/me"), ("GET", "/users/search?q=a")):
        assert_error(await client.request(method, path, json={}), 401)


async def test_circles_read_together_reach_exactly_the_contacts(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    """The presence events' batched read (a user's conversations, and who shares a
    space with them) names the same people as the one-user contacts read:
    conversations and spaces, itself included."""
    ann, ben, cat, dan, eve = [await register() for _ in range(5)]
    made = await client.post(
        "/conversations",
        headers=ann.headers,
        json={"type": "GROUP", "name": "pair", "participantIds": [str(ben.id)]},
    )
    assert made.status_code == 201, made.text
    pair = uuid.UUID(made.json()["conversation"]["id"])
    space = await client.post("/spaces", headers=ben.headers, json={"name": "the space"})
    assert space.status_code == 201, space.text
    added = await client.post(
        f"/spaces/{space.json()['space']['id']}/members",
        headers=ben.headers,
        json={"userIds": [str(cat.id)]},
    )
    assert added.status_code == 200, added.text
    users = node.services.user_queries
    members = {pair: {ann.id, ben.id}}
    ids = [ann.id, ben.id, cat.id, dan.id]

    circles = await users.circles_of(ids)

    for uid in ids:
        circle = circles[uid]
        reached = {uid, *circle.space_contacts}.union(*(members[c] for c in circle.conversations))
        assert reached == await users.contacts_of(uid), uid
    assert circles[ann.id].conversations == {pair}
    assert circles[ben.id].space_contacts == {ben.id, cat.id}
    assert circles[dan.id].conversations == frozenset()
    assert circles[dan.id].space_contacts == frozenset()
    assert eve.id not in set().union(*(c.space_contacts for c in circles.values()))

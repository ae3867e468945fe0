"""Who is shown a user's `isOnline` and `lastSeen` (docs/http-api.md, Objects): the user themself
and their contacts (who share an ACTIVE conversation or a space with them, the rule of
`get_presence`); to anyone else both are null. Every read path that carries a `User`.

The watched user is put online the way a handshake does (the node's presence seam) and
given a last-seen time in the database, so that both fields have something to hide.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update

from hubbub.app import Node
from hubbub.store.models import User
from tests.conftest import Account, RegisterFn

SEEN = datetime(2026, 1, 5, 10, 0, 0, 123000, tzinfo=UTC)
SHOWN = (True, "2026-01-05T10:00:00.123Z")
HIDDEN = (None, None)


async def watched_user(node: Node, register: RegisterFn, name: str) -> Account:
    user = await register(name)
    async with node.services.db.write() as session:
        await session.execute(update(User).where(User.id == user.id).values(last_seen=SEEN))
    await node.services.presence.connected(user.id, f"socket-of-{name}")
    return user


def presence(user: dict[str, Any]) -> tuple[Any, Any]:
    return user["isOnline"], user["lastSeen"]


async def profile(client: httpx.AsyncClient, viewer: Account, who: Account) -> tuple[Any, Any]:
    response = await client.get(f"/users/{who.id}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return presence(response.json()["user"])


async def found(client: httpx.AsyncClient, viewer: Account, who: Account) -> tuple[Any, Any]:
    response = await client.get("/users/search", params={"q": who.username}, headers=viewer.headers)
    assert response.status_code == 200, response.text
    (user,) = [u for u in response.json()["users"] if u["id"] == str(who.id)]
    return presence(user)


async def seen_by(client: httpx.AsyncClient, viewer: Account, who: Account) -> set[Any]:
    """What `viewer` is shown of `who`'s presence by the profile and by search (one value
    when both agree)."""
    return {await profile(client, viewer, who), await found(client, viewer, who)}


async def group_of(client: httpx.AsyncClient, maker: Account, other: Account) -> dict[str, Any]:
    made = await client.post(
        "/conversations",
        headers=maker.headers,
        json={"type": "GROUP", "name": "pair", "participantIds": [str(other.id)]},
    )
    assert made.status_code == 201, made.text
    conversation: dict[str, Any] = made.json()["conversation"]
    return conversation


async def test_profile_and_search_show_presence_to_contacts_only(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    watched = await watched_user(node, register, "wendy")
    contact, stranger = await register("carl"), await register("sam")
    made = await group_of(client, contact, watched)

    assert await seen_by(client, stranger, watched) == {HIDDEN}
    assert await seen_by(client, contact, watched) == {SHOWN}
    assert await seen_by(client, watched, watched) == {SHOWN}  # oneself: always
    me = (await client.get("/users/me", headers=watched.headers)).json()["user"]
    assert presence(me) == SHOWN

    # Leaving the only conversation they shared makes them strangers again.
    cid = made["id"]
    left = await client.delete(
        f"/conversations/{cid}/participants/{contact.id}", headers=contact.headers
    )
    assert left.status_code == 200, left.text
    assert await seen_by(client, contact, watched) == {HIDDEN}


async def test_a_shared_space_makes_a_contact(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    watched = await watched_user(node, register, "wanda")
    colleague, stranger = await register("cleo"), await register("stan")
    space = await client.post("/spaces", headers=colleague.headers, json={"name": "Works"})
    sid = space.json()["space"]["id"]
    assert await seen_by(client, colleague, watched) == {HIDDEN}
    ids = {"userIds": [str(watched.id)]}
    added = await client.post(f"/spaces/{sid}/members", headers=colleague.headers, json=ids)
    assert added.status_code == 200, added.text
    assert await seen_by(client, colleague, watched) == {SHOWN}
    assert await seen_by(client, stranger, watched) == {HIDDEN}


async def test_conversation_views_show_their_participants_presence(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    watched = await watched_user(node, register, "walt")
    contact = await register("cora")
    made = await group_of(client, contact, watched)
    cid = made["id"]
    one = (await client.get(f"/conversations/{cid}", headers=contact.headers)).json()
    listed = (await client.get("/conversations", headers=contact.headers)).json()
    for conversation in (
        made,
        one["conversation"],
        *listed["conversations"],
    ):
        by_id = {p["userId"]: p["user"] for p in conversation["participants"]}
        assert presence(by_id[str(watched.id)]) == SHOWN
        assert by_id[str(contact.id)]["isOnline"] is False  # a contact, not online


async def test_an_unknown_user_is_404_whoever_asks(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    viewer = await register("vera")
    response = await client.get(f"/users/{uuid.uuid4()}", headers=viewer.headers)
    assert response.status_code == 404

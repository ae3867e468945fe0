"""The same write several times at once, as a client that retries, or two tabs, or a bot
that registers on start and on being added, sends it: each call answers as if it had
come alone, the row is stored once, and what the write announces is announced once.

The writes that add a row under a unique key read first and insert when nothing is
there; on PostgreSQL two of them at once both read "nothing" and the unique key refuses
the second insert, which used to be a 500 (`hubbub.actions.races` runs it again). On
SQLite the single writer never interleaves them; the tests run there all the same.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hubbub.client import AsyncClient, HubbubError
from tests.conftest import Backend
from tests.gw import Server, register, serving
from tests.sdk import FAST, PASSWORD, signed_up

T = TypeVar("T")

AT_ONCE = 6  # identical calls in flight together
ROUNDS = 3  # each on a fresh target, so that each round races the insert again


def vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    env = FAST | {
        "HUBBUB_BUDGETS": "register_address=6000/1000,profile=6000/1000,participant=6000/1000",
        "HUBBUB_PUSH_VAPID_PRIVATE_KEY": vapid_pem(),
        "HUBBUB_PUSH_ALLOW_INSECURE_LOOPBACK": "true",
    }
    async with serving(backend, tmp_path_factory.mktemp("races"), env) as srv:
        yield srv


@pytest.fixture
async def people(server: Server) -> AsyncIterator[list[AsyncClient]]:
    clients = [await signed_up(server.base) for _ in range(3)]
    yield clients
    for client in clients:
        await client.close()


async def at_once(call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> list[T]:
    """`call(*args, **kwargs)` AT_ONCE times together; every one must succeed."""
    return list(await asyncio.gather(*(call(*args, **kwargs) for _ in range(AT_ONCE))))


def ids(client: AsyncClient) -> Any:
    assert client.user is not None
    return client.user.id


async def test_a_command_registered_at_once_is_registered_once(
    people: list[AsyncClient],
) -> None:
    owner, other, _ = people
    for round_ in range(ROUNDS):
        group = await owner.create_group(f"commands {round_}", [ids(other)])
        made = await at_once(owner.register_command, group.id, "weather", description="a forecast")
        assert len({m.id for m in made}) == 1
        listed = await other.commands(group.id)
        assert [(c.name, c.user_id) for c in listed] == [("weather", ids(owner))]


async def test_a_participant_added_at_once_is_added_once(people: list[AsyncClient]) -> None:
    owner, other, newcomer = people
    for round_ in range(ROUNDS):
        group = await owner.create_group(f"adding {round_}", [ids(other)])
        answers = await at_once(owner.add_participants, group.id, [ids(newcomer)])
        for answer in answers:
            assert sorted(str(p.user_id) for p in answer.participants) == sorted(
                str(ids(c)) for c in people
            )
        # One "added" notice in the history, not one per call.
        history = (await newcomer.messages(group.id)).messages
        added = [m for m in history if ids(newcomer) in _users_added(m)]
        assert len(added) == 1, [m.content for m in history]


def _users_added(message: Any) -> list[uuid.UUID]:
    """The users a system "added" notice names (none for any other message)."""
    metadata = message.metadata or {}
    if metadata.get("event") != "participants_added":
        return []
    return [uuid.UUID(u) for u in metadata.get("userIds", [])]


async def test_a_space_member_added_at_once_is_added_once(people: list[AsyncClient]) -> None:
    owner, other, _ = people
    for round_ in range(ROUNDS):
        space = await owner.create_space(f"space {round_}")
        channel = await owner.create_channel(space.id, "general")
        answers = await at_once(owner.add_space_members, space.id, [ids(other)])
        assert [a.member_count for a in answers] == [2] * AT_ONCE
        seen = await other.conversation(channel.id)
        assert sorted(str(p.user_id) for p in seen.participants) == sorted(
            str(ids(c)) for c in (owner, other)
        )


async def test_a_push_subscription_made_at_once_is_kept_once(people: list[AsyncClient]) -> None:
    person = people[0]
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = _b64(
        point.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    auth = _b64(secrets.token_bytes(16))
    for round_ in range(ROUNDS):
        endpoint = f"http://127.0.0.1:9/push/{round_}-{secrets.token_hex(4)}"
        made = await at_once(person.push_subscribe, endpoint, p256dh, auth)
        assert len({m.id for m in made}) == 1
    kept = [s.endpoint for s in await person.push_subscriptions()]
    assert len(kept) == len(set(kept)) == ROUNDS


async def test_notification_preferences_saved_at_once_keep_every_change(
    server: Server,
) -> None:
    """The first save makes the row (a race on its key); partial saves at once, each of
    another field, all stay (none writes back what it read before another saved)."""
    changes: list[dict[str, Any]] = [
        {"private": "nothing"},
        {"group": "all"},
        {"space": "nothing"},
        {"timezone": "Europe/Oslo"},
        {"digests": False},
        {"quiet_hours_start": "22:00"},
        {"quiet_hours_end": "07:00"},
    ]
    for _ in range(ROUNDS * 2):  # a new account each time: its first saves race the insert
        person = await signed_up(server.base)
        try:
            await asyncio.gather(*(person.update_notification_preferences(**c) for c in changes))
            saved = await person.notification_preferences()
        finally:
            await person.close()
        assert (saved.private, saved.group, saved.space) == ("nothing", "all", "nothing")
        assert (saved.timezone, saved.digests) == ("Europe/Oslo", False)
        assert (saved.quiet_hours_start, saved.quiet_hours_end) == ("22:00", "07:00")


async def test_a_session_ended_at_once_from_elsewhere_ends_once(server: Server) -> None:
    """One session ended six times at once from another device: each call answers as if
    alone (ended, or already gone: 404), and the session's token is refused after."""
    here = await signed_up(server.base)
    assert here.user is not None
    there = AsyncClient(server.base)
    try:
        await there.login(here.user.username, PASSWORD)
        (theirs,) = [s.id for s in await here.sessions() if not s.current]
        outcomes = await asyncio.gather(
            *(here.end_session(theirs) for _ in range(AT_ONCE)), return_exceptions=True
        )
        ended = [o for o in outcomes if not isinstance(o, BaseException)]
        gone = [o for o in outcomes if isinstance(o, HubbubError) and o.code == "session_not_found"]
        assert ended, outcomes
        assert len(ended) + len(gone) == AT_ONCE, outcomes
        with pytest.raises(HubbubError) as refused:
            await there.me()
        assert refused.value.status == 401
        assert [s.current for s in await here.sessions()] == [True]
    finally:
        await here.close()
        await there.close()


async def test_a_logout_sent_twice_at_once_logs_out_once(server: Server) -> None:
    """The same logout, sent six times at once over HTTP (the SDK sends one): each
    answers 200, or 401 once another had ended the session; the tokens are dead after."""
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
        for _ in range(ROUNDS):
            who = await register(http)
            body = {"refreshToken": who.refresh_token}
            answers = await asyncio.gather(
                *(http.post("/auth/logout", headers=who.headers, json=body) for _ in range(AT_ONCE))
            )
            codes = sorted(r.status_code for r in answers)
            assert 200 in codes, codes
            assert set(codes) <= {200, 401}, [r.text for r in answers]
            after = await http.get("/users/me", headers=who.headers)
            assert after.status_code == 401
            refreshed = await http.post("/auth/refresh", json=body)
            assert refreshed.status_code == 401


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_channel_made_while_members_join_has_every_member(
    people: list[AsyncClient],
) -> None:
    """Channels created while members are added to their space: every channel ends with
    every member of the space (neither write misses what the other adds)."""
    owner, other, newcomer = people
    for round_ in range(ROUNDS):
        space = await owner.create_space(f"joining {round_}")
        made = await asyncio.gather(
            owner.add_space_members(space.id, [ids(other)]),
            *(owner.create_channel(space.id, f"channel {n}") for n in range(AT_ONCE)),
            owner.add_space_members(space.id, [ids(newcomer)]),
        )
        members = sorted(str(ids(c)) for c in people)
        for channel in made[1:-1]:
            seen = await owner.conversation(channel.id)
            assert sorted(str(p.user_id) for p in seen.participants) == members, channel.name


async def test_a_member_removed_twice_at_once_is_removed_once(people: list[AsyncClient]) -> None:
    owner, other, _ = people
    space = await owner.create_space("leaving")
    channel = await owner.create_channel(space.id, "general")
    await owner.add_space_members(space.id, [ids(other)])
    outcomes = await asyncio.gather(
        *(owner.remove_space_member(space.id, ids(other)) for _ in range(AT_ONCE)),
        return_exceptions=True,
    )
    removed = [o for o in outcomes if not isinstance(o, BaseException)]
    gone = [o for o in outcomes if isinstance(o, HubbubError) and o.code == "member_not_found"]
    assert len(removed) == 1, outcomes
    assert len(gone) == AT_ONCE - 1, outcomes
    assert (await owner.space(space.id)).member_count == 1
    seen = await owner.conversation(channel.id)
    assert [str(p.user_id) for p in seen.participants] == [str(ids(owner))]

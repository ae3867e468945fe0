"""Users and conversations made through the public HTTP API (docs/http-api.md), as any client would.

So the generator works against any server that speaks the protocol: hubbub, the
baselines, or a `--target`.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hubbub_bench.http import HttpPool

PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts on a throwaway database
T = TypeVar("T")


@dataclass
class User:
    id: str
    username: str
    token: str
    conversations: list[str] = field(default_factory=list)


async def bounded(items: int, concurrency: int, make: Callable[[int], Awaitable[T]]) -> list[T]:
    """Run make(0..items-1) with at most `concurrency` at a time, results in order."""
    results: list[T | None] = [None] * items
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < items:
            i = next_index
            next_index += 1
            results[i] = await make(i)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, items) or 1)))
    return [r for r in results if r is not None]


async def register_users(
    pool: HttpPool, count: int, concurrency: int = 16, prefix: str | None = None
) -> list[User]:
    prefix = prefix or f"b{secrets.token_hex(3)}"

    async def one(i: int) -> User:
        username = f"{prefix}_{i}"
        body = await pool.call(
            "POST",
            "/auth/register",
            {"username": username, "email": f"{username}@bench.example.com", "password": PASSWORD},
        )
        return User(id=str(body["user"]["id"]), username=username, token=str(body["token"]))

    return await bounded(count, concurrency, one)


# hubbub takes at most this many participants with a new group, and adds at most
# ADD_AT_ONCE per call after that; a bigger group (the big-room run) is made in steps.
CREATE_AT_ONCE = 1000
ADD_AT_ONCE = 500


async def create_group(
    pool: HttpPool, owner: User, members: list[User], name: str, *, in_steps: bool = False
) -> str:
    """A group of `owner` and `members`; `in_steps` (hubbub) adds members beyond what a
    creation takes with further calls (the baselines take any number at once)."""
    cut = CREATE_AT_ONCE if in_steps else len(members)
    first, rest = members[:cut], members[cut:]
    body = await pool.call(
        "POST",
        "/conversations",
        {"type": "GROUP", "name": name, "participantIds": [m.id for m in first]},
        token=owner.token,
    )
    conversation_id = str(body["conversation"]["id"])
    for i in range(0, len(rest), ADD_AT_ONCE):
        await pool.call(
            "POST",
            f"/conversations/{conversation_id}/participants",
            {"userIds": [m.id for m in rest[i : i + ADD_AT_ONCE]]},
            token=owner.token,
        )
    for user in [owner, *members]:
        user.conversations.append(conversation_id)
    return conversation_id


def group_layout(users: int, group_size: int, rounds: int = 1, seed: int = 7) -> list[list[int]]:
    """Member indexes of each group: `rounds` partitions of the users into groups.

    Round 0 puts consecutive users together; later rounds shuffle, so with several
    rounds each user is in `rounds` groups with different people. A last group
    smaller than two is folded into the one before it.
    """
    groups: list[list[int]] = []
    rng = random.Random(seed)
    for r in range(rounds):
        order = list(range(users))
        if r:
            rng.shuffle(order)
        chunks = [order[i : i + group_size] for i in range(0, users, group_size)]
        if len(chunks) > 1 and len(chunks[-1]) < 2:
            chunks[-2].extend(chunks.pop())
        groups.extend(chunks)
    return groups


async def create_groups(
    pool: HttpPool,
    users: list[User],
    layout: list[list[int]],
    concurrency: int = 8,
    *,
    in_steps: bool = False,
) -> list[str]:
    async def one(i: int) -> str:
        members = layout[i]
        return await create_group(
            pool,
            users[members[0]],
            [users[m] for m in members[1:]],
            f"bench group {i}",
            in_steps=in_steps,
        )

    return await bounded(len(layout), concurrency, one)


async def post_messages(pool: HttpPool, sender: User, conversation_id: str, count: int) -> None:
    for i in range(count):
        await pool.call(
            "POST",
            f"/conversations/{conversation_id}/messages",
            {"content": f"setup message {i}"},
            token=sender.token,
        )

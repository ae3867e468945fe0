"""The state seams' backing for their contract suites: one fixture, `seam`, parametrised
by implementation.

"memory" runs always; "redis" on the PostgreSQL + Redis run, against the real Redis at
`REDIS_URL` with a key prefix of its own per test, emptied afterwards. An unreachable
Redis skips the redis cases, or fails the run with CI=true (`service_missing`).

tests/conftest.py loads this module as a plugin. Each suite builds a node's
implementation from the `Seam` (its `presence_node`, `typing_node`, `limiter_node`): a
new memory instance per node, or a Redis one over the test's `prefix`, shared by the
test's nodes as by the nodes of one deployment. Where the implementations legitimately
differ, a test says so with `only(...)`: the other case is reported as skipped, with the
reason.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from tests.conftest import BACKEND, REDIS_URL, service_missing

IMPLEMENTATIONS = ["memory", "redis"] if BACKEND == "postgresql" else ["memory"]


@dataclass(frozen=True)
class Seam:
    kind: str  # "memory" | "redis"
    redis: Redis | None
    prefix: str

    @property
    def client(self) -> Redis:
        assert self.redis is not None, "only the redis implementation has a client"
        return self.redis


@pytest.fixture(params=IMPLEMENTATIONS)
async def seam(request: pytest.FixtureRequest) -> AsyncIterator[Seam]:
    prefix = f"hubbub-test-seam-{secrets.token_hex(4)}:"
    if request.param == "memory":
        yield Seam("memory", None, prefix)
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        service_missing("Redis", exc)
    try:
        yield Seam("redis", redis, prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def only(kind: str, reason: str) -> pytest.MarkDecorator:
    """Run this test on `kind` only; the other implementation's case is skipped with
    `reason`, which should say what that implementation does instead."""
    return pytest.mark.parametrize(
        "seam",
        [
            impl if impl == kind else pytest.param(impl, marks=pytest.mark.skip(reason=reason))
            for impl in IMPLEMENTATIONS
        ],
        indirect=True,
    )

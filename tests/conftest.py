"""Test harness: every test runs against the backend chosen for this run.

HUBBUB_TEST_BACKEND=sqlite (default): the embedded default, SQLite + in-process state.
HUBBUB_TEST_BACKEND=postgresql: a fresh PostgreSQL database made for this run, and Redis.
With CI=true an unreachable service fails the run; elsewhere it skips it.
Each test gets a new node (app + services) over the run's migrated database, emptied
after the test, and its own Redis key prefix.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError

from hubbub.app import Node, create_app
from hubbub.config import Settings
from hubbub.store.migrate import upgrade_to_head
from hubbub.store.models import Base

BACKEND = os.environ.get("HUBBUB_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "HUBBUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("HUBBUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = secrets.token_hex(4)
JWT_SECRET = "test-secret-" + "x" * 60

assert BACKEND in ("sqlite", "postgresql"), f"unknown HUBBUB_TEST_BACKEND {BACKEND!r}"

# The `seam` fixture of the state seams' contract suites; the SDK tests' `sdk_server`.
pytest_plugins = ["tests.seams", "tests.sdk"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BACKEND != "postgresql" and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only test; this run is SQLite"))
        if BACKEND != "sqlite" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite-only test; this run is PostgreSQL"))


def service_missing(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable ({exc!r})"
    if IN_CI:
        pytest.exit(f"CI requires {message}", returncode=3)
    pytest.skip(message)


def pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def create_pg_database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url(name)


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str | None
    data_root: Path

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"


@pytest.fixture(scope="session")
async def backend(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    root = tmp_path_factory.mktemp("hubbub")
    if BACKEND == "sqlite":
        url = f"sqlite:///{root / 'test.db'}"
        await upgrade_to_head(url)
        yield Backend("sqlite", url, None, root)
        return
    name = f"hubbub_test_{RUN_ID}"
    try:
        url = await create_pg_database(name)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing("PostgreSQL", exc)
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:
        service_missing("Redis", exc)
    finally:
        await redis.aclose()
    try:
        await upgrade_to_head(url)
        yield Backend("postgresql", url, REDIS_URL, root)
    finally:
        await drop_pg_database(name)


def make_settings(backend: Backend, **overrides: Any) -> Settings:
    data_dir = backend.data_root / f"node-{secrets.token_hex(4)}"
    values: dict[str, Any] = {
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "data_dir": data_dir,
        "jwt_secret": JWT_SECRET,
        "redis_prefix": f"hubbub-test-{RUN_ID}-{secrets.token_hex(4)}:",
        # Cheap but real Argon2id, so tests that register many users stay fast.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        # Every test user registers from the one test client's address.
        "budgets": "register_address=6000/1000",
        # The in-process client's address reads /metrics (a real server's test: loopback).
        "metrics_allow": "203.0.113.7",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# PostgreSQL's code for "deadlock detected".
DEADLOCK = "40P01"
TRUNCATE_TRIES = 5


async def empty_database(node: Node) -> None:
    if node.services.db.dialect == "postgresql":
        await _truncate_everything(node)
        return
    async with node.services.db.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))


async def _truncate_everything(node: Node) -> None:
    # The node's own work (digests, deliveries, flushes) may be mid-transaction when a
    # test ends. TRUNCATE locks its tables one at a time, so PostgreSQL can stop it as a
    # deadlock's victim (seen once in CI); its advice is to run the transaction again.
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    for attempt in range(1, TRUNCATE_TRIES + 1):
        try:
            async with node.services.db.write() as session:
                await session.execute(text(f"TRUNCATE {names} CASCADE"))
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK or attempt == TRUNCATE_TRIES:
                raise
            await asyncio.sleep(0.05 * attempt)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to start its node with other settings."""
    return {}


@pytest.fixture
async def node(backend: Backend, settings_overrides: dict[str, Any]) -> AsyncIterator[Node]:
    app = create_app(make_settings(backend, **settings_overrides))
    async with app.http.router.lifespan_context(app.http):
        try:
            yield app
        finally:
            await empty_database(app)


@pytest.fixture
async def client(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=node.asgi, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class Account:
    id: uuid.UUID
    username: str
    email: str
    password: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


RegisterFn = Callable[..., Awaitable[Account]]


@pytest.fixture
def register(client: httpx.AsyncClient) -> RegisterFn:
    async def _register(
        username: str | None = None, *, password: str = "correct horse battery", **extra: Any
    ) -> Account:
        username = username or f"user_{secrets.token_hex(4)}"
        email = extra.pop("email", f"{username.lower()}@example.com")
        response = await client.post(
            "/auth/register",
            json={"username": username, "email": email, "password": password, **extra},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(
            id=uuid.UUID(body["user"]["id"]),
            username=username,
            email=email,
            password=password,
            token=body["token"],
            refresh_token=body["refreshToken"],
        )

    return _register


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error in the one docs/http-api.md shape, with this status (and code)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"statusCode", "error", "message", "code"}, body
    assert body["statusCode"] == status
    assert isinstance(body["message"], str)
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


async def count_rows(node: Node, table: str) -> int:
    from sqlalchemy import text

    async with node.services.db.read() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608


__all__ = ["Account", "assert_error", "asyncio", "count_rows"]

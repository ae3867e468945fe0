"""/readyz says which check fails: a schema behind this release, Redis not answering.

Each node here runs on a database or a Redis address of its own, made for the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine

from hubbub.app import create_app
from hubbub.store.migrate import alembic_config, upgrade_to_head
from tests.conftest import Backend, make_settings
from tests.gw import free_port


@asynccontextmanager
async def readyz_of(backend: Backend, **settings: Any) -> AsyncIterator[httpx.Response]:
    node = create_app(make_settings(backend, **settings))
    async with node.http.router.lifespan_context(node.http):
        transport = httpx.ASGITransport(app=node.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield await http.get("/readyz")


@pytest.mark.sqlite_only
async def test_a_schema_behind_this_release_is_not_ready(backend: Backend, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "-1")
    finally:
        engine.dispose()
    async with readyz_of(backend, database_url=url) as response:
        assert response.status_code == 503
        body = response.json()
    assert body["code"] == body["status"] == "not_ready"
    assert body["checks"] == {"database": "reachable", "migrations": "behind", "redis": "absent"}
    assert body["message"] == "Not ready: migrations"


async def test_a_node_whose_redis_does_not_answer_is_degraded(backend: Backend) -> None:
    # Nothing listens on this port: the node starts degraded.
    async with readyz_of(backend, redis_url=f"redis://127.0.0.1:{free_port()}/0") as response:
        assert response.status_code == 503
        body = response.json()
    assert body["code"] == body["status"] == "degraded"
    assert body["checks"] == {
        "database": "reachable",
        "migrations": "current",
        "redis": "degraded",
    }
    assert body["message"] == "Degraded: redis"
    assert body["statusCode"] == 503

"""Migrations build exactly the schema the models describe, on this run's database."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from hubbub.store.dialect import async_url, is_fts_object
from hubbub.store.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from hubbub.store.models import Base
from tests.conftest import Backend, create_pg_database, drop_pg_database


@pytest.fixture
async def empty_database_url(backend: Backend) -> AsyncIterator[str]:
    if backend.is_postgres:
        name = f"hubbub_migrate_{secrets.token_hex(4)}"
        url = await create_pg_database(name)
        try:
            yield url
        finally:
            await drop_pg_database(name)
    else:
        yield f"sqlite:///{backend.data_root / ('migrate-' + secrets.token_hex(4) + '.db')}"


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_object": lambda obj, name, type_, reflected, other: not is_fts_object(name),
        },
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_models(empty_database_url: str) -> None:
    await upgrade_to_head(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()
    engine = create_async_engine(async_url(empty_database_url))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(_tables)
    finally:
        await engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


async def test_full_text_objects_exist_and_downgrade_removes_everything(
    empty_database_url: str, backend: Backend
) -> None:
    await upgrade_to_head(empty_database_url)
    engine = create_async_engine(async_url(empty_database_url))
    try:
        async with engine.connect() as conn:
            if backend.is_postgres:
                found = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_indexes"
                        " WHERE indexname = 'ix_messages_content_fts'"
                    )
                )
            else:
                found = await conn.scalar(
                    text("SELECT count(*) FROM sqlite_master WHERE name = 'messages_fts'")
                )
            assert found == 1

        async with engine.begin() as conn:

            def downgrade(sync_conn: Connection) -> None:
                cfg = alembic_config()
                cfg.attributes["connection"] = sync_conn
                command.downgrade(cfg, "base")

            await conn.run_sync(downgrade)
        async with engine.connect() as conn:
            left = await conn.run_sync(_tables)
        assert left <= {"alembic_version"}
    finally:
        await engine.dispose()
    # And back up again: the history is repeatable.
    await upgrade_to_head(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()

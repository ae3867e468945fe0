"""Migrations build exactly the schema the models describe, on this run's database."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Integer,
    String,
    Uuid,
    column,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import create_async_engine

from hubbub.store.dialect import async_url, is_fts_object
from hubbub.store.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from hubbub.store.models import Base
from tests.conftest import Backend, create_pg_database, drop_pg_database


def _user_columns() -> tuple[Any, ...]:
    return (
        *(column(c, String()) for c in ("username", "username_key", "email", "password_hash")),
        column("is_active", Boolean()),
        *(column(c, DateTime(timezone=True)) for c in ("created_at", "updated_at")),
    )


_FILE_COLUMNS = (
    *(column(c, String()) for c in ("kind", "storage_key", "filename", "mime_type")),
    column("size", Integer()),
    column("created_at", DateTime(timezone=True)),
)


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


def _user_row(name: str, now: datetime) -> dict[str, Any]:
    return {
        "username": name,
        "username_key": name,
        "email": f"{name}@example.com",
        "password_hash": "x",
        "is_active": True,
        "created_at": now,
        "updated_at": now,
    }


def _to(revision: str, direction: str = "upgrade") -> Callable[[Connection], None]:
    def run(sync_conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        getattr(command, direction)(cfg, revision)

    return run


async def test_conversations_turned_off_become_level_nothing(empty_database_url: str) -> None:
    """0009: a conversation whose notifications were off notifies of nothing; one left on
    follows the user's defaults (NULL); and back again on downgrade."""
    engine = create_async_engine(async_url(empty_database_url))
    users = table("users", column("id", Uuid()), *_user_columns())
    conversations = table(
        "conversations",
        column("id", Uuid()),
        column("type", String()),
        column("metadata", JSON()),
        *(column(c, DateTime(timezone=True)) for c in ("created_at", "updated_at")),
        column("last_message_at", DateTime(timezone=True)),
    )
    participants = table(
        "conversation_participants",
        *(column(c, Uuid()) for c in ("id", "conversation_id", "user_id")),
        *(column(c, String()) for c in ("role", "status")),
        *(column(c, DateTime(timezone=True)) for c in ("joined_at", "created_at", "updated_at")),
        column("notifications_enabled", Boolean()),
    )
    conversation_id, on, off = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to("0008"))
            await conn.execute(
                conversations.insert().values(
                    id=conversation_id,
                    type="GROUP",
                    metadata={},
                    created_at=now,
                    updated_at=now,
                    last_message_at=now,
                )
            )
            for user_id, enabled in ((on, True), (off, False)):
                name = f"u{user_id.hex[:8]}"
                await conn.execute(users.insert().values(id=user_id, **_user_row(name, now)))
                await conn.execute(
                    participants.insert().values(
                        id=uuid.uuid4(),
                        conversation_id=conversation_id,
                        user_id=user_id,
                        role="MEMBER",
                        status="ACTIVE",
                        joined_at=now,
                        created_at=now,
                        updated_at=now,
                        notifications_enabled=enabled,
                    )
                )
            await conn.run_sync(_to("0009"))
            levels = table(
                "conversation_participants",
                column("user_id", Uuid()),
                column("notify_level", String()),
                column("muted_until", DateTime(timezone=True)),
            )
            rows = (await conn.execute(select(levels.c.user_id, levels.c.notify_level))).all()
            assert dict(rows) == {on: None, off: "nothing"}
            await conn.run_sync(_to("0008", "downgrade"))
            back = participants.c
            rows = (await conn.execute(select(back.user_id, back.notifications_enabled))).all()
            assert dict(rows) == {on: True, off: False}
    finally:
        await engine.dispose()


async def test_stored_avatar_urls_become_file_ids(empty_database_url: str) -> None:
    """0005: an avatar URL naming an avatar upload keeps that file; anything else is dropped."""
    engine = create_async_engine(async_url(empty_database_url))
    to = _to
    ids = {name: uuid.uuid4() for name in ("ana", "bo", "cy", "di", "avatar", "attachment")}
    users = table("users", column("id", Uuid()), column("avatar", String()), *_user_columns())
    files = table("files", *(column(c, Uuid()) for c in ("id", "owner_id")), *_FILE_COLUMNS)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(to("0004"))
            now = datetime.now(UTC)
            for name, avatar in [
                ("ana", f"/files/{ids['avatar']}/me.png?exp=1&sig=00"),
                ("bo", "javascript:alert(1)"),
                ("cy", f"/files/{ids['attachment']}/a.png?exp=1&sig=00"),
                ("di", str(ids["avatar"])),  # ana's avatar, not di's
            ]:
                await conn.execute(
                    users.insert().values(id=ids[name], avatar=avatar, **_user_row(name, now))
                )
            for name, kind in [("avatar", "avatar"), ("attachment", "message_attachment")]:
                await conn.execute(
                    files.insert().values(
                        id=ids[name],
                        owner_id=ids["ana"],
                        kind=kind,
                        storage_key=name,
                        filename="f.png",
                        size=1,
                        mime_type="image/png",
                        created_at=now,
                    )
                )
            await conn.run_sync(to("0005"))
            kept = table("users", column("id", Uuid()), column("avatar_file_id", Uuid()))
            rows = dict((await conn.execute(select(kept.c.id, kept.c.avatar_file_id))).all())
            assert rows == {
                ids["ana"]: ids["avatar"],
                ids["bo"]: None,
                ids["cy"]: None,
                ids["di"]: None,
            }
            await conn.run_sync(to("0004", "downgrade"))
            back = dict((await conn.execute(select(users.c.id, users.c.avatar))).all())
            assert back[ids["ana"]] == f"/files/{ids['avatar']}/avatar"
    finally:
        await engine.dispose()

"""Alembic environment: runs on the connection that `hubbub.store.migrate` hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from hubbub.store.dialect import is_fts_object
from hubbub.store.models import Base

config = context.config


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Full-text search objects are per-dialect DDL in the migrations, not ORM models.
    return not is_fts_object(name)


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

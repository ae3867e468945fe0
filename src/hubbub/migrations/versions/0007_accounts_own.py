"""A user's own account: sessions' device and address, password-reset tokens, deletion

Revision ID: 0007
Revises: 0006

`refresh_tokens` gains the User-Agent and client address of the login or refresh that
issued each token (a session's newest token says where it was last used), the new
`password_reset_tokens` holds reset tokens (hashed, single use, short-lived), and
`users.deleted_at` marks an account its owner deleted (kept as a tombstone).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hubbub.store.dialect

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("user_agent", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("deleted_at", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_reset_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_tokens_token_hash")),
    )
    with op.batch_alter_table("password_reset_tokens") as batch:
        batch.create_index("ix_password_reset_tokens_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("password_reset_tokens") as batch:
        batch.drop_index("ix_password_reset_tokens_user_id")
    op.drop_table("password_reset_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("client_address")
        batch.drop_column("user_agent")

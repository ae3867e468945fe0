"""API tokens, bot users and incoming webhooks

Revision ID: 0012
Revises: 0011

`users.is_bot` and `users.bot_owner_id` (a bot is a user owned by its creator, with no
password login); `api_tokens` (named bearer tokens with scopes, stored hashed);
`incoming_webhooks` (a URL posting into one conversation as a bot, its secret hashed).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hubbub.store.dialect

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = hubbub.store.dialect.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_bot", sa.Boolean(), server_default=sa.text("(false)"), nullable=False)
        )
        batch.add_column(sa.Column("bot_owner_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_users_bot_owner_id_users"), "users", ["bot_owner_id"], ["id"]
        )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _WHEN(timezone=True), nullable=False),
        sa.Column("expires_at", _WHEN(timezone=True), nullable=True),
        sa.Column("last_used_at", _WHEN(timezone=True), nullable=True),
        sa.Column("revoked_at", _WHEN(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.create_index("ix_api_tokens_user_id", ["user_id"], unique=False)
    op.create_table(
        "incoming_webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bot_user_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _WHEN(timezone=True), nullable=False),
        sa.Column("deleted_at", _WHEN(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bot_user_id"],
            ["users.id"],
            name=op.f("fk_incoming_webhooks_bot_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_incoming_webhooks_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_incoming_webhooks_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_webhooks")),
    )
    with op.batch_alter_table("incoming_webhooks") as batch:
        batch.create_index("ix_incoming_webhooks_bot_user_id", ["bot_user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incoming_webhooks") as batch:
        batch.drop_index("ix_incoming_webhooks_bot_user_id")
    op.drop_table("incoming_webhooks")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_user_id")
    op.drop_table("api_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("fk_users_bot_owner_id_users"), type_="foreignkey")
        batch.drop_column("bot_owner_id")
        batch.drop_column("is_bot")

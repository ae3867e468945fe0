"""Outgoing webhooks and slash commands

Revision ID: 0013
Revises: 0012

`event_subscriptions` (an account's endpoint, its signing secret and the events it
wants), `webhook_cursors` (per subscription and conversation, the last message number
turned into deliveries), `webhook_deliveries` (the outbox and delivery log) and
`slash_commands` (`/name` in a conversation, answered by the account that registered it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hubbub.store.dialect

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

At = hubbub.store.dialect.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "event_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("events", sa.String(length=100), nullable=False),
        sa.Column("created_at", At(timezone=True), nullable=False),
        sa.Column("deleted_at", At(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_event_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscriptions")),
    )
    op.create_index(
        op.f("ix_event_subscriptions_user_id"), "event_subscriptions", ["user_id"], unique=False
    )
    op.create_table(
        "webhook_cursors",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["event_subscriptions.id"],
            name=op.f("fk_webhook_cursors_subscription_id_event_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_webhook_cursors_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subscription_id", "conversation_id", name=op.f("pk_webhook_cursors")
        ),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("payload", hubbub.store.dialect.JsonDocument, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", At(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", At(timezone=True), nullable=False),
        sa.Column("delivered_at", At(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["event_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_event_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_webhook_deliveries_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_id_conversation_id_seq",
        "webhook_deliveries",
        ["subscription_id", "conversation_id", "seq"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_id_created_at",
        "webhook_deliveries",
        ["subscription_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "slash_commands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("created_at", At(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_slash_commands_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_slash_commands_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slash_commands")),
        sa.UniqueConstraint(
            "conversation_id", "name", name=op.f("uq_slash_commands_conversation_id_name")
        ),
    )
    op.create_index(op.f("ix_slash_commands_user_id"), "slash_commands", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slash_commands_user_id"), table_name="slash_commands")
    op.drop_table("slash_commands")
    for name in (
        "ix_webhook_deliveries_subscription_id_created_at",
        "ix_webhook_deliveries_subscription_id_conversation_id_seq",
        "ix_webhook_deliveries_status_next_attempt_at",
    ):
        op.drop_index(name, table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_cursors")
    op.drop_index(op.f("ix_event_subscriptions_user_id"), table_name="event_subscriptions")
    op.drop_table("event_subscriptions")

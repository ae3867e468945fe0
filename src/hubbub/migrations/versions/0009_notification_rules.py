"""Notification rules

Revision ID: 0009
Revises: 0008

A conversation's single `notifications_enabled` flag becomes a level (`notify_level`:
all, mentions, nothing; NULL follows the user's default for the conversation's type)
and a mute (`muted_until`). What users chose is kept: a conversation they had turned
off becomes "nothing"; one left on follows their defaults. `notification_preferences`
holds each user's defaults, pause and do-not-disturb hours.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hubbub.store.dialect

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("all", "mentions", "nothing")


def _level(name: str) -> sa.Enum:
    return sa.Enum(*LEVELS, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    with op.batch_alter_table("conversation_participants") as batch:
        batch.add_column(sa.Column("notify_level", _level("notify_level"), nullable=True))
        batch.add_column(
            sa.Column("muted_until", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE conversation_participants SET notify_level = 'nothing'"
        " WHERE notifications_enabled = false"
    )
    with op.batch_alter_table("conversation_participants") as batch:
        batch.drop_column("notifications_enabled")
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("private_level", _level("private_level"), nullable=False),
        sa.Column("group_level", _level("group_level"), nullable=False),
        sa.Column("space_level", _level("space_level"), nullable=False),
        sa.Column("paused_until", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=True),
        sa.Column("quiet_start_minute", sa.Integer(), nullable=True),
        sa.Column("quiet_end_minute", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )


def downgrade() -> None:
    op.drop_table("notification_preferences")
    with op.batch_alter_table("conversation_participants") as batch:
        batch.add_column(
            sa.Column(
                "notifications_enabled",
                sa.Boolean(),
                server_default=sa.text("(true)"),
                nullable=False,
            )
        )
    op.execute(
        "UPDATE conversation_participants SET notifications_enabled = false"
        " WHERE notify_level = 'nothing'"
    )
    with op.batch_alter_table("conversation_participants") as batch:
        # The level's CHECK goes first: SQLite's table copy would keep it otherwise.
        batch.drop_constraint(op.f("ck_conversation_participants_notify_level"), type_="check")
        batch.drop_column("muted_until")
        batch.drop_column("notify_level")

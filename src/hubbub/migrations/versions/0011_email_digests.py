"""Email digests: `notification_preferences.digests` and `digest_state`

Revision ID: 0011
Revises: 0010

A user may turn email digests off (on by default); `digest_state` keeps, per user, when
the last digest was sent and up to when the messages it listed were sent, and is what
a node claims (a conditional write) before sending a digest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hubbub.store.dialect

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_preferences") as batch:
        batch.add_column(
            sa.Column("digests", sa.Boolean(), server_default=sa.text("(true)"), nullable=False)
        )
    op.create_table(
        "digest_state",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_sent_at", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=True),
        sa.Column("covered_until", hubbub.store.dialect.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_digest_state_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_digest_state")),
    )


def downgrade() -> None:
    op.drop_table("digest_state")
    with op.batch_alter_table("notification_preferences") as batch:
        batch.drop_column("digests")

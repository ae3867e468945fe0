"""The integrations' tables: API tokens (personal and bots') and incoming webhooks.

Declared on the same metadata as `hubbub.store.models` (the package imports this module,
so the schema is whole whichever module a caller imports first).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.domain.ids import new_id, utcnow
from hubbub.store.models import Base


class ApiToken(Base):
    """A named bearer token of one user (a person or a bot): stored as the SHA-256 of its
    secret, shown once. Its id is the `session_id` of the principals it authenticates,
    so revoking it is ending a session (`revoked_tokens` `sid:` key, `session_revoked`)."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Space-separated, in `hubbub.domain.token_rules.Scope` order (read send manage).
    scopes: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)


class IncomingWebhook(Base):
    """A URL that posts into one conversation as a bot; the secret in it is stored as
    its SHA-256. Deleted ones keep their row (`deleted_at`) and answer 404."""

    __tablename__ = "incoming_webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    bot_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    creator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_incoming_webhooks_bot_user_id", "bot_user_id"),)

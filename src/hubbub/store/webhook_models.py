"""The tables of outgoing webhooks and slash commands (docs/integrations.md).

Beside `hubbub.store.models` (same `Base`, so the migrations, `port-db` and the tests see
them); the package imports this module, so every user of the store has the tables.
`event_subscriptions`: an account's endpoint and secret and the events it wants;
`webhook_cursors`: per subscription and conversation, the last message number turned
into deliveries; `webhook_deliveries`: the outbox and the delivery log (one row per
event, its id the event id); `slash_commands`: `/name` in a conversation, answered by
the account that registered it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.domain.ids import new_id, utcnow
from hubbub.store.dialect import JsonDocument
from hubbub.store.models import Base


class EventSubscription(Base):
    __tablename__ = "event_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # Kept in clear: the server signs every delivery with it (the receiver holds a copy).
    secret: Mapped[str] = mapped_column(String(100))
    # Comma-separated event kinds (`hubbub.domain.webhook_rules.EventKind`).
    events: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deleted by its owner: no more deliveries; the log stays readable by nobody.
    deleted_at: Mapped[datetime | None]


class WebhookCursor(Base):
    __tablename__ = "webhook_cursors"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    # The message's number: deliveries of one subscription and conversation leave in
    # this order. None (commands, pings): no order with others.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "ix_webhook_deliveries_subscription_id_conversation_id_seq",
            "subscription_id",
            "conversation_id",
            "seq",
        ),
        Index("ix_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
    )


class SlashCommand(Base):
    __tablename__ = "slash_commands"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(32))
    # The account that answers it (the one that registered it).
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("conversation_id", "name"),)

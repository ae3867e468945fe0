"""Reading an account's event subscriptions and their delivery log.

Edge (`GET /users/me/event-subscriptions`, `GET .../{id}/deliveries`) -> here ->
storage (`hubbub.store.webhooks`).
"""

from __future__ import annotations

import uuid

from hubbub.domain.errors import NotFound
from hubbub.domain.webhook_rules import DeliveryStatus
from hubbub.store.access import access_conversation
from hubbub.store.commands import commands_of_txn
from hubbub.store.database import Database
from hubbub.store.webhook_models import EventSubscription, SlashCommand, WebhookDelivery
from hubbub.store.webhooks import deliveries_txn, live_subscriptions_txn, subscription_of_txn
from hubbub.wire.webhooks import (
    DeliveryList,
    DeliveryView,
    EventSubscriptionList,
    EventSubscriptionView,
    SlashCommandList,
    SlashCommandView,
)


def subscription_view(row: EventSubscription) -> EventSubscriptionView:
    return EventSubscriptionView(
        id=row.id,
        url=row.url,
        events=[e for e in row.events.split(",") if e],
        created_at=row.created_at,
    )


def delivery_view(row: WebhookDelivery) -> DeliveryView:
    pending = row.status == DeliveryStatus.PENDING
    return DeliveryView(
        id=row.id,
        event=row.event,
        conversation_id=row.conversation_id,
        seq=row.seq,
        status=DeliveryStatus(row.status).value,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if pending else None,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def command_view(row: SlashCommand) -> SlashCommandView:
    return SlashCommandView(
        id=row.id,
        conversation_id=row.conversation_id,
        name=row.name,
        description=row.description,
        user_id=row.user_id,
        created_at=row.created_at,
    )


class WebhookQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def subscriptions(self, user_id: uuid.UUID) -> EventSubscriptionList:
        async with self._db.read() as session:
            rows = await live_subscriptions_txn(session, user_id)
        return EventSubscriptionList(subscriptions=[subscription_view(r) for r in rows])

    async def deliveries(
        self,
        user_id: uuid.UUID,
        subscription_id: uuid.UUID,
        *,
        status: DeliveryStatus | None,
        limit: int,
    ) -> DeliveryList:
        """The newest deliveries first (of one status, when asked)."""
        async with self._db.read() as session:
            if await subscription_of_txn(session, user_id, subscription_id) is None:
                raise NotFound("No such event subscription", code="subscription_not_found")
            rows = await deliveries_txn(
                session, subscription_id, None if status is None else status.value, limit
            )
        return DeliveryList(deliveries=[delivery_view(r) for r in rows])

    async def commands(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> SlashCommandList:
        """The conversation's commands, by name (members only)."""
        async with self._db.read() as session:
            await access_conversation(session, user_id, conversation_id)
            rows = await commands_of_txn(session, conversation_id)
        return SlashCommandList(commands=[command_view(r) for r in rows])

"""A bot's outgoing webhook subscriptions, managed by its owner (or an administrator).

Edge (`/bots/{bot_id}/event-subscriptions`) -> here -> the account's own subscriptions
(`hubbub.actions.event_subscriptions`) and their reads (`hubbub.queries.webhooks`), with
the bot as the account. The bot service admits the caller first (anyone else gets the
bot's 404); past that, every rule, budget and limit is the bot's, as if it had called
`/users/me/event-subscriptions` with its own token.
"""

from __future__ import annotations

import uuid

from hubbub.actions.bots import BotService
from hubbub.actions.event_subscriptions import EventSubscriptions
from hubbub.actions.principal import Principal
from hubbub.domain.webhook_rules import DeliveryStatus
from hubbub.queries.webhooks import WebhookQueries
from hubbub.wire.webhooks import (
    DeliveryList,
    EventSubscriptionList,
    EventSubscriptionRequest,
    NewEventSubscription,
    PingSent,
)


class BotEventSubscriptions:
    def __init__(
        self, bots: BotService, subscriptions: EventSubscriptions, queries: WebhookQueries
    ) -> None:
        self._bots = bots
        self._subscriptions = subscriptions
        self._queries = queries

    async def _bot_id(self, principal: Principal, bot_id: uuid.UUID) -> uuid.UUID:
        return (await self._bots.managed(principal, bot_id)).id

    async def list(self, principal: Principal, bot_id: uuid.UUID) -> EventSubscriptionList:
        return await self._queries.subscriptions(await self._bot_id(principal, bot_id))

    async def subscribe(
        self, principal: Principal, bot_id: uuid.UUID, req: EventSubscriptionRequest
    ) -> NewEventSubscription:
        return await self._subscriptions.subscribe(await self._bot_id(principal, bot_id), req)

    async def unsubscribe(
        self, principal: Principal, bot_id: uuid.UUID, subscription_id: uuid.UUID
    ) -> None:
        account = await self._bot_id(principal, bot_id)
        await self._subscriptions.unsubscribe(account, subscription_id)

    async def deliveries(
        self,
        principal: Principal,
        bot_id: uuid.UUID,
        subscription_id: uuid.UUID,
        *,
        status: DeliveryStatus | None,
        limit: int,
    ) -> DeliveryList:
        account = await self._bot_id(principal, bot_id)
        return await self._queries.deliveries(account, subscription_id, status=status, limit=limit)

    async def ping(
        self, principal: Principal, bot_id: uuid.UUID, subscription_id: uuid.UUID
    ) -> PingSent:
        account = await self._bot_id(principal, bot_id)
        return await self._subscriptions.ping(account, subscription_id)

"""An account's outgoing webhook subscriptions: register (the URL checked and its host's
addresses with it), delete, and send a test `ping`.

Edge (`/users/me/event-subscriptions`) -> here -> storage (`hubbub.store.webhooks`);
deliveries are made and sent by the worker (`hubbub.actions.webhook_worker`), which a
ping wakes. Any account registers its own: a bot is an account acting with its own token,
or its owner acting for it (`hubbub.actions.bot_subscriptions`, the bot as the account).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hubbub.actions.budgets import Budgets
from hubbub.actions.webhook_http import AddressRefused, checked_addresses
from hubbub.actions.webhook_worker import WebhookWorker
from hubbub.config import Budget
from hubbub.domain.errors import NotFound, ValidationFailed
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.webhook_rules import EventKind, Network, webhook_url_problem
from hubbub.queries.webhooks import delivery_view, subscription_view
from hubbub.security.webhooks import new_secret
from hubbub.store.database import Database
from hubbub.store.webhooks import (
    NewDelivery,
    add_deliveries,
    add_subscription_txn,
    count_live_txn,
    delete_subscription_txn,
    deliveries_txn,
    subscription_of_txn,
)
from hubbub.wire.webhooks import (
    EventSubscriptionRequest,
    NewEventSubscription,
    PingSent,
    WebhookEvent,
)

# Live subscriptions one account keeps.
MAX_PER_ACCOUNT = 10


def _no_such() -> NotFound:
    return NotFound("No such event subscription", code="subscription_not_found")


class EventSubscriptions:
    def __init__(
        self,
        db: Database,
        budgets: Budgets,
        worker: WebhookWorker,
        *,
        allowed: Sequence[Network],
    ) -> None:
        self._db = db
        self._budgets = budgets
        self._worker = worker
        self._allowed = allowed

    async def subscribe(
        self, user_id: uuid.UUID, req: EventSubscriptionRequest
    ) -> NewEventSubscription:
        problem = webhook_url_problem(req.url)
        if problem is not None:
            raise ValidationFailed(problem)
        await self._budgets.take(Budget.PROFILE, user_id)
        try:
            await checked_addresses(req.url, self._allowed)
        except AddressRefused as exc:
            raise ValidationFailed(f"url: {exc}", code="address_refused") from None
        events = ",".join(e for e in EventKind if e in req.events)
        secret = new_secret()
        async with self._db.write() as session:
            if await count_live_txn(session, user_id) >= MAX_PER_ACCOUNT:
                raise ValidationFailed(
                    f"An account keeps at most {MAX_PER_ACCOUNT} event subscriptions",
                    code="too_many_subscriptions",
                )
            row = await add_subscription_txn(session, user_id, req.url, secret, events)
            view = subscription_view(row)
        return NewEventSubscription(subscription=view, secret=secret)

    async def unsubscribe(self, user_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
        async with self._db.write() as session:
            if not await delete_subscription_txn(session, user_id, subscription_id, utcnow()):
                raise _no_such()

    async def ping(self, user_id: uuid.UUID, subscription_id: uuid.UUID) -> PingSent:
        """A `ping` event to the endpoint, delivered (and logged) like any other."""
        await self._budgets.take(Budget.PROFILE, user_id)
        event_id = new_id()
        event = WebhookEvent(
            id=event_id, type=EventKind.PING.value, account_id=user_id, created_at=utcnow()
        )
        async with self._db.write() as session:
            if await subscription_of_txn(session, user_id, subscription_id) is None:
                raise _no_such()
            add_deliveries(
                session,
                subscription_id,
                [NewDelivery(event_id, EventKind.PING.value, None, None, event.wire())],
            )
            await session.flush()
            row = next(
                d
                for d in await deliveries_txn(session, subscription_id, None, 10)
                if d.id == event_id
            )
            view = delivery_view(row)
        self._worker.wake()
        return PingSent(delivery=view)

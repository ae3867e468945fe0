"""Keeping and dropping Web Push subscriptions.

Edge (`POST`/`DELETE /users/me/push-subscriptions`) and the notifier (subscriptions a push
service calls gone) -> here -> storage (`hubbub.store.push`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from hubbub.actions.budgets import Budgets
from hubbub.actions.races import once_more_if_raced
from hubbub.config import Budget
from hubbub.domain.errors import NotFound, ValidationFailed
from hubbub.domain.notify_rules import push_endpoint_problem
from hubbub.queries.push import subscription_view
from hubbub.store.database import Database
from hubbub.store.push import delete_subscriptions_txn, subscribe_txn, unsubscribe_txn
from hubbub.wire.push import PushSubscriptionRequest, PushSubscriptionView


class PushSubscriptions:
    def __init__(
        self, db: Database, budgets: Budgets, *, enabled: bool, allow_insecure_loopback: bool
    ) -> None:
        self._db = db
        self._budgets = budgets
        self._enabled = enabled
        self._allow_insecure_loopback = allow_insecure_loopback

    async def subscribe(
        self, user_id: uuid.UUID, req: PushSubscriptionRequest
    ) -> PushSubscriptionView:
        if not self._enabled:
            raise NotFound("Web Push is not enabled on this server", code="push_disabled")
        problem = push_endpoint_problem(
            req.endpoint, allow_insecure_loopback=self._allow_insecure_loopback
        )
        if problem is not None:
            raise ValidationFailed(problem)
        await self._budgets.take(Budget.PROFILE, user_id)
        # One browser subscribing twice at once keeps one row (`hubbub.actions.races`).
        return await once_more_if_raced(lambda: self._subscribe(user_id, req))

    async def _subscribe(
        self, user_id: uuid.UUID, req: PushSubscriptionRequest
    ) -> PushSubscriptionView:
        async with self._db.write() as session:
            row = await subscribe_txn(
                session, user_id, req.endpoint, req.keys.p256dh, req.keys.auth
            )
            view = subscription_view(row)
        return view

    async def unsubscribe(self, user_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
        async with self._db.write() as session:
            if not await unsubscribe_txn(session, user_id, subscription_id):
                raise NotFound("No such push subscription")

    async def forget(self, subscription_ids: Collection[uuid.UUID]) -> None:
        """Delete subscriptions their push service calls gone (404, 410)."""
        async with self._db.write() as session:
            await delete_subscriptions_txn(session, subscription_ids)

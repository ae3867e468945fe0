"""Reading Web Push subscriptions and what the notifier needs.

Edge (`GET /users/me/push-subscriptions`, `GET /push/vapid-public-key`) and the notifier
(`hubbub.realtime.notifier`, after commit) -> here -> storage
(`hubbub.store.push`, `hubbub.store.notify_prefs`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from hubbub.domain.errors import NotFound
from hubbub.domain.notify_rules import Candidates, Recipient
from hubbub.realtime.webpush import PushTarget
from hubbub.store.database import Database
from hubbub.store.models import PushSubscription
from hubbub.store.notify_prefs import recipients_txn
from hubbub.store.push import subscriptions_of_txn
from hubbub.wire.push import PushSubscriptionList, PushSubscriptionView, VapidPublicKey


def subscription_view(row: PushSubscription) -> PushSubscriptionView:
    return PushSubscriptionView(id=row.id, endpoint=row.endpoint, created_at=row.created_at)


class PushQueries:
    def __init__(self, db: Database, public_key: str | None) -> None:
        """`public_key`: the server's VAPID public key; None while Web Push is off."""
        self._db = db
        self._public_key = public_key

    def vapid_public_key(self) -> VapidPublicKey:
        if self._public_key is None:
            raise NotFound("Web Push is not enabled on this server", code="push_disabled")
        return VapidPublicKey(public_key=self._public_key)

    async def subscriptions(self, user_id: uuid.UUID) -> PushSubscriptionList:
        async with self._db.read() as session:
            rows = await subscriptions_of_txn(session, [user_id])
        return PushSubscriptionList(subscriptions=[subscription_view(r) for r in rows])

    async def recipients(self, wanted: Candidates) -> list[Recipient]:
        """The participants the rules could admit, with their rules."""
        async with self._db.read() as session:
            return await recipients_txn(session, wanted)

    async def targets(self, user_ids: Collection[uuid.UUID]) -> list[PushTarget]:
        async with self._db.read() as session:
            rows = await subscriptions_of_txn(session, user_ids)
        return [PushTarget(r.id, r.user_id, r.endpoint, r.p256dh, r.auth) for r in rows]

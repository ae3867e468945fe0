"""Live unread counts: what a node's unread coalescer (`hubbub.realtime.unread`) reads
for the users it has sockets for, one query for all of them."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from hubbub.store.database import Database
from hubbub.store.markers import unread_counts_of_users_txn


class UnreadQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def unread_of(
        self, user_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, dict[uuid.UUID, tuple[int, int]]]:
        """Per user, the (unread messages, unread mentions) of each conversation it is
        an ACTIVE participant of (a user in none maps to an empty dict)."""
        counts: dict[uuid.UUID, dict[uuid.UUID, tuple[int, int]]] = {u: {} for u in user_ids}
        if not counts:
            return counts
        async with self._db.read() as session:
            rows = await unread_counts_of_users_txn(session, list(counts))
        for uid, cid, count, mentions in rows:
            counts[uid][cid] = (count, mentions)
        return counts

"""Reading sessions: which of the connected sockets' sessions have ended.

Edge (the socket gateway's session sweep) -> here -> storage (`hubbub.store.sessions`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hubbub.store.database import Database
from hubbub.store.sessions import ended_sessions_txn

# Sessions asked about per query: bounded bind parameters on both databases.
SESSIONS_PER_QUERY = 500


class SessionQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def ended(self, sessions: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> set[uuid.UUID]:
        """Of these (user, session) pairs, the sessions revoked or of an inactive account."""
        ended: set[uuid.UUID] = set()
        async with self._db.read() as session:
            for start in range(0, len(sessions), SESSIONS_PER_QUERY):
                chunk = sessions[start : start + SESSIONS_PER_QUERY]
                ended |= await ended_sessions_txn(session, chunk)
        return ended

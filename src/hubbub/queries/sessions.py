"""Reading sessions: which of the connected sockets' sessions have ended, and a user's
own list of sessions.

Edge (the socket gateway's session sweep) -> here -> storage (`hubbub.store.sessions`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hubbub.domain.ids import utcnow
from hubbub.store.database import Database
from hubbub.store.sessions import ended_sessions_txn, session_rows_txn, sessions_started_txn
from hubbub.wire.account import SessionList, SessionView

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

    async def of_user(self, user_id: uuid.UUID, current: uuid.UUID) -> SessionList:
        """The user's live sessions, the most recently used first."""
        async with self._db.read() as session:
            rows = await session_rows_txn(session, user_id, utcnow())
            started = await sessions_started_txn(session, [row[0] for row in rows])
        return SessionList(
            sessions=[
                SessionView(
                    id=family,
                    user_agent=agent,
                    address=address,
                    created_at=started.get(family, last_used),
                    last_used_at=last_used,
                    current=family == current,
                )
                for family, agent, address, last_used in rows
            ]
        )

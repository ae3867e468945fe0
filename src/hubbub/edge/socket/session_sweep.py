"""The gateway's session sweep: sockets whose session has ended are cut, from the truth.

A logout or a deactivation cuts its sockets at once through the bus (the hub applies
`session_revoked` / `account_closed`). The bus is a doorbell: an event lost while Redis
was away, or a deactivation made from the terminal of a node without Redis, reaches no
hub. So every `period_s` this asks the database which of this node's sockets belong to
an ended session or an inactive account, and cuts those.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from hubbub.realtime.hub import Hub

log = logging.getLogger("hubbub.edge.socket")

EndedSessions = Callable[[Sequence[tuple[uuid.UUID, uuid.UUID]]], Awaitable[set[uuid.UUID]]]


class SessionSweep:
    def __init__(self, hub: Hub, ended_sessions: EndedSessions, *, period_s: float) -> None:
        self._hub = hub
        self._ended_sessions = ended_sessions
        self._period_s = period_s

    async def sweep_once(self) -> int:
        """Cut the sockets of ended sessions; how many sessions were ended."""
        pairs = sorted({(s.user_id, s.session_id) for s in self._hub.sockets.values()})
        if not pairs:
            return 0
        ended = await self._ended_sessions(pairs)
        for session_id in ended:
            await self._hub.end_session(session_id)
        return len(ended)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._period_s)
            try:
                cut = await self.sweep_once()
            except Exception:  # the database away: the next round tries again
                log.warning("session sweep failed", exc_info=True)
                continue
            if cut:
                log.info("session sweep cut the sockets of %d ended sessions", cut)

"""Live unread counts: each node tells its own sockets their counts, coalesced.

A bus subscriber next to the hub (subscribed after it). Committed events that change a
count mark (user, conversation) pairs as pending, only for users with a socket on this
node: a new message or a deletion marks every local listener of the conversation but
its sender (a SYSTEM message, none), a read marker's move its reader, a membership
change (joined, added, left, removed) the member. A flush reads the counts of the
pending users, a query per 256 (counts derive from the read markers, so they are true
whatever events were coalesced) and sends each pending pair one `unread_count`, with
its unread mentions and the user's total. Flushes are at least `interval_s` apart on a
node, so a user hears at most one `unread_count` per conversation per interval, the
last value winning: a change during a flush's read marks its pair again for the next
one. A flush that took long spaces the next one further (`flush_gap`). Every node
does the same for its own sockets; nothing crosses between nodes but the events the
bus carries anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection

from hubbub.events.catalog import UnreadCount
from hubbub.events.envelope import Envelope
from hubbub.realtime.hub import Hub

log = logging.getLogger("hubbub.realtime")

# Per user, per conversation: (unread messages, unread mentions).
Counts = dict[uuid.UUID, dict[uuid.UUID, tuple[int, int]]]
UnreadRead = Callable[[Collection[uuid.UUID]], Awaitable[Counts]]

# Events after which every local listener of the conversation may have a new count.
_CONVERSATION_WIDE = frozenset({"new_message", "message_deleted"})


# A flush may take at most this share of the time from its start to the next one's.
# In a room of 5,000 members where nobody reads, each message made every member's count
# be read again and sent: a flush of ~270 ms every 0.25 s, half the node's CPU and the
# room's deliveries 150-560 ms late. Counts stay exact (the last value wins); under such
# load they come less often.
FLUSH_DUTY = 0.25

# Users whose counts are read in one query. On SQLite the driver runs on the loop: the
# whole room's read held it ~270 ms, and a send arriving then waited as long for its
# commit (group commit mean 214 ms at 1.4 sends per commit).
READ_CHUNK = 256


def flush_gap(interval_s: float, took_s: float) -> float:
    """Seconds from a flush's start to the next's: `interval_s`, or longer after a flush
    that took long, so that flushing keeps to `FLUSH_DUTY` of the node's time."""
    return max(interval_s, took_s / FLUSH_DUTY)


class UnreadCoalescer:
    def __init__(self, hub: Hub, read: UnreadRead, *, interval_s: float) -> None:
        self._hub = hub
        self._read = read
        self._interval = interval_s
        self._pending: dict[uuid.UUID, set[uuid.UUID]] = {}
        self._last_flush = float("-inf")
        self._gap = interval_s  # from one flush's start to the next's (`flush_gap`)
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    async def deliver(self, envelope: Envelope) -> None:
        """Bus subscriber: mark the pairs whose count this event may have changed."""
        effect = envelope.effect
        if effect.conversation_id is not None:
            for uid in (*effect.joined, *effect.left):
                self._mark(uid, effect.conversation_id)
        cid = envelope.audience.conversation_id
        if cid is None:
            return
        if envelope.name in _CONVERSATION_WIDE:
            message = envelope.payload["message"]
            if message["type"] == "SYSTEM":
                return  # never counted (a membership change comes with its own effect)
            sender = uuid.UUID(message["senderId"])  # one's own messages never count
            for uid in self._hub.listeners(cid):
                if uid != sender:
                    self._mark(uid, cid)
        elif envelope.name == "messages_read":
            self._mark(uuid.UUID(envelope.payload["userId"]), cid)

    async def resync(self) -> None:
        """Bus subscriber: events may have been missed; every local count is resent."""
        for state in list(self._hub.sockets.values()):
            for cid in state.conversations:
                self._mark(state.user_id, cid)

    def _mark(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        if not self._hub.user_sockets(user_id):
            return
        self._pending.setdefault(user_id, set()).add(conversation_id)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_while_pending(), name="hubbub-unread")

    async def _flush_while_pending(self) -> None:
        while self._pending:
            wait = self._last_flush + self._gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_flush = time.monotonic()
            pending, self._pending = self._pending, {}
            try:
                await self._flush(pending)
            except Exception:  # a lost update is recovered by the next change or a reload
                log.exception("unread counts: flush failed")
            self._gap = flush_gap(self._interval, time.monotonic() - self._last_flush)

    async def _flush(self, pending: dict[uuid.UUID, set[uuid.UUID]]) -> None:
        users = list(pending)
        for i in range(0, len(users), READ_CHUNK):
            chunk = users[i : i + READ_CHUNK]
            counts = await self._read(chunk)
            for user_id in chunk:
                mine = counts.get(user_id, {})
                total = sum(n for n, _ in mine.values())
                for cid in pending[user_id]:
                    count, mentions = mine.get(cid, (0, 0))
                    event = UnreadCount(cid, user_id, count, total, mentions)
                    await self._hub.deliver(event.envelope())
            await asyncio.sleep(0)  # sends waiting meanwhile go first

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

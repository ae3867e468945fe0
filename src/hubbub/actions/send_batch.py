"""Group commit of sends: many `send_message` calls, one transaction, acks after commit.

Edge -> `hubbub.actions.send.SendService.send_message` -> here -> the store
(`hubbub.store.send_batch_txn`, on the driver); each stored send's `new_message` is
emitted on the batch and published after its commit, before the sends are answered.
One writer task per node takes every send that is waiting (up to `max_batch`) and
stores them together: one access query for all
(sender, conversation) pairs, one idempotency lookup, one mention check, the batch's
conversations locked in id order and renumbered with one executemany UPDATE, one
multi-row INSERT, one commit. No timer: while a batch commits the next one gathers, so
under light load a batch is a single send and waits for nothing, and under heavy load
the commit and the round trips are shared by everyone in it.

Under overload the queue is bounded in time, not left to grow: when the oldest send
waiting has waited longer than `max_wait_s`, a new send is refused at once with
`rate_limited` and a `retryAfter` of about that wait (counted in
`hubbub_sends_shed_total`). What was admitted is still stored and acknowledged, within
about that wait plus one commit; a refused send was never acknowledged, and the client
sends it again later with the same optimisticId.

A send the batch refuses (not a participant, muted, a mention of a non-participant, an
optimisticId already used for another conversation) fails alone and the rest go on. If
the transaction fails as a whole on a unique constraint (an identical send committed
meanwhile, say on another node), each send of the batch is stored alone through the
one-send path (`hubbub.actions.send_alone`), which finds the original. The checks are
the one-send path's too (`hubbub.actions.send_rules`). Any other failure (the database
is away) fails every send of the batch: none was acknowledged, each client retries
with its optimisticId.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from hubbub.actions.send_alone import store_alone
from hubbub.actions.send_rules import (
    Accesses,
    Outcomes,
    PendingSend,
    Stored,
    admitted,
    optimistic_id_taken,
    original_views,
    refuse_muted,
    refuse_unknown_mentions,
    split_originals,
)
from hubbub.domain.errors import HubbubError, RateLimited
from hubbub.domain.ids import utcnow
from hubbub.domain.rules import (
    conversation_not_found,
)
from hubbub.events.catalog import NewMessage
from hubbub.metrics import Metrics
from hubbub.queries.presenters import fresh_message_view, sender_view
from hubbub.queries.views import Views
from hubbub.store.access import (
    access_for_sending,
)
from hubbub.store.database import Database
from hubbub.store.new_message import NewMessageRecord, new_message_record
from hubbub.store.prepared import RawBatch
from hubbub.store.send_batch_txn import store_new_messages_txn
from hubbub.tracing import NoTracing, Tracing

log = logging.getLogger("hubbub.messages")

# The longest a send may have waited at the head of the queue before new sends are shed.
# Under a closed loop of 4,000 sends in flight (`hubbub bench throughput`) acks come
# 1.0-1.5 s after their send and nothing is shed; past saturation, without a bound,
# the queue and every ack's latency grew for as long as the overload lasted.
MAX_QUEUE_WAIT_S = 2.0


class SendBatcher:
    def __init__(
        self,
        db: Database,
        views: Views,
        *,
        metrics: Metrics | None = None,
        max_batch: int = 256,
        writers: int = 1,
        tracing: Tracing | None = None,
        max_wait_s: float = MAX_QUEUE_WAIT_S,
    ) -> None:
        """`writers`: batches stored at the same time (one for SQLite, which has one
        writer anyway; a few for PostgreSQL, so that a batch gathering while another is
        in flight need not wait for it)."""
        self._db = db
        self._writers = writers
        self._tracing: Tracing = tracing if tracing is not None else NoTracing()
        self._metrics = metrics
        self._views = views
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._queue: deque[PendingSend] = deque()
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # (sender, conversation) of every send in a batch being stored.
        self._in_flight: set[tuple[uuid.UUID, uuid.UUID]] = set()

    async def submit(self, pending: PendingSend) -> Stored:
        """Store `pending` with whatever else is waiting; answers after the commit."""
        if not self._tasks or any(task.done() for task in self._tasks):
            # Started by the first send, on the serving loop (nothing runs at import).
            await self._stop_writers()
            self._wakeup = asyncio.Event()
            self._tasks = [
                asyncio.create_task(self._run(), name=f"hubbub-send-batcher-{i}")
                for i in range(self._writers)
            ]
        assert self._wakeup is not None
        if self._queue:
            waited = pending.queued_at - self._queue[0].queued_at
            if waited > self._max_wait_s:
                if self._metrics is not None:
                    self._metrics.sends_shed.inc()
                raise RateLimited(waited, "The server is busy; send again after retryAfter")
        self._queue.append(pending)
        self._wakeup.set()
        return await pending.future

    async def _stop_writers(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        await self._stop_writers()
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.cancel()

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            batch = self._take_batch()
            if not batch:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            lines = {(p.sender, p.conversation_id) for p in batch}
            self._in_flight |= lines
            started = time.perf_counter()
            parents = [pending.trace_parent for pending in batch]
            try:
                with self._tracing.batch_span("hubbub.group_commit", parents, sends=len(batch)):
                    await self._store_batch(batch)
            finally:
                self._in_flight -= lines
                if self._queue:  # what waited for this batch may go now
                    self._wakeup.set()
            if self._metrics is not None:
                self._metrics.send_batch_size.observe(len(batch))
                self._metrics.send_batch_seconds.observe(time.perf_counter() - started)

    def _take_batch(self) -> list[PendingSend]:
        """The next batch: the queue's sends in order, except those of a sender to a
        conversation with a send in a batch still in flight, which wait for it: with
        several writers a later batch may commit first, and a user's messages must be
        numbered in the order they were sent."""
        batch: list[PendingSend] = []
        held: list[PendingSend] = []
        while self._queue and len(batch) < self._max_batch:
            pending = self._queue.popleft()
            if pending.future.done():  # its caller went away before it was stored
                continue
            if (pending.sender, pending.conversation_id) in self._in_flight:
                held.append(pending)
            else:
                batch.append(pending)
        self._queue.extendleft(reversed(held))
        return batch

    async def _store_batch(self, batch: list[PendingSend]) -> None:
        try:
            outcomes = await self._transaction(batch)
        except IntegrityError:
            # Raced by an identical send elsewhere: one at a time, each finds its original.
            for pending in batch:
                try:
                    _answer(pending, await store_alone(self._db, self._views, pending))
                except Exception as exc:  # handed to the one caller it belongs to
                    _answer(pending, exc)
            return
        except asyncio.CancelledError:
            for pending in batch:
                if not pending.future.done():
                    pending.future.cancel()
            raise
        except Exception as exc:  # the database is away: no send of this batch was stored
            log.warning("storing a batch of %d sends failed: %r", len(batch), exc)
            for pending in batch:
                _answer(pending, exc)
            return
        for pending, outcome in outcomes.items():
            _answer(pending, outcome)

    async def _transaction(self, batch: list[PendingSend]) -> Outcomes:
        now = utcnow()
        # On the driver itself (`hubbub.store.prepared`): through SQLAlchemy's async API the
        # batch's five statements cost more Python than the whole rest of a send.
        async with self._db.raw_writers.batch() as tx:
            outcomes, repeats, retried = await self._store(tx, batch, now)
        if retried:
            # A retry of a stored send (rare) gets its original's current view.
            async with self._db.read() as session:
                for pending, view in (await original_views(session, self._views, retried)).items():
                    outcomes[pending] = (view, False)
        # Repeats within the batch share the outcome of the first send with their key.
        for pending, first in repeats:
            outcome = outcomes[first]
            if first.conversation_id != pending.conversation_id:
                outcomes[pending] = optimistic_id_taken()
            elif isinstance(outcome, HubbubError):
                outcomes[pending] = outcome
            else:
                outcomes[pending] = (outcome[0], False)
        return outcomes

    async def _store(
        self, tx: RawBatch, batch: list[PendingSend], now: datetime
    ) -> tuple[Outcomes, list[tuple[PendingSend, PendingSend]], dict[PendingSend, uuid.UUID]]:
        """The batch's statements: the outcome of each send stored or refused, the
        repeats of an earlier send of the batch, and the sends whose optimisticId is
        stored already (with their original's id)."""
        outcomes: Outcomes = {}
        accesses, stored = await access_for_sending(
            tx,
            {(p.sender, p.conversation_id) for p in batch},
            {p.key for p in batch if p.key is not None},
        )
        fresh, repeats, retried = split_originals(
            stored, admitted(batch, accesses, outcomes), outcomes
        )
        fresh = refuse_muted(fresh, accesses, outcomes)
        fresh = await refuse_unknown_mentions(tx, fresh, outcomes)
        if fresh:
            await self._insert(tx, fresh, accesses, now, outcomes)
        return outcomes, repeats, retried

    async def _insert(
        self,
        tx: RawBatch,
        fresh: list[PendingSend],
        accesses: Accesses,
        now: datetime,
        outcomes: Outcomes,
    ) -> None:
        made = [
            (
                pending,
                new_message_record(
                    pending.conversation_id,
                    pending.sender,
                    message_type=pending.req.type,
                    content=pending.content,
                    metadata=dict(pending.req.metadata),
                    mentions=pending.mentions,
                    now=now,
                    client_timestamp=pending.client_timestamp,
                    optimistic_id=pending.req.optimistic_id,
                ),
            )
            for pending in fresh
        ]
        records: dict[uuid.UUID, list[NewMessageRecord]] = {}
        for pending, record in made:
            records.setdefault(pending.conversation_id, []).append(record)
        last_seqs = {
            cid: accesses[(batch[0]["sender_id"], cid)].last_seq for cid, batch in records.items()
        }
        numbered = await store_new_messages_txn(tx, records, last_seqs, now)
        left_out = [pending for pending, record in made if record["id"] not in numbered]
        if left_out:
            await _explain_left_out(tx, left_out, outcomes)
        for pending, record in made:
            if record["id"] not in numbered:
                continue
            sender = sender_view(
                accesses[(pending.sender, pending.conversation_id)], self._views.urls
            )
            # A new message has no reactions, no files and nobody has read it: its view
            # needs no further queries.
            view = fresh_message_view(record, sender, [])
            tx.emit(NewMessage(view, pending.origin_socket))
            outcomes[pending] = (view, True)


async def _explain_left_out(tx: RawBatch, sends: list[PendingSend], outcomes: Outcomes) -> None:
    """Sends the store left out because their sender's access changed since the check
    (removed, muted) or their conversation went: the refusal that access now gives."""
    accesses, _ = await access_for_sending(tx, {(p.sender, p.conversation_id) for p in sends})
    for pending in refuse_muted(admitted(sends, accesses, outcomes), accesses, outcomes):
        outcomes[pending] = conversation_not_found()


def _answer(pending: PendingSend, outcome: Stored | BaseException) -> None:
    if pending.future.done():
        return
    if isinstance(outcome, BaseException):
        pending.future.set_exception(outcome)
    else:
        pending.future.set_result(outcome)

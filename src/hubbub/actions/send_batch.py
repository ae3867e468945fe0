"""Group commit of sends: many `send_message` calls, one transaction, acks after commit.

Edge -> `MessageService.send_message` -> here -> storage; each stored send's
`new_message` is emitted on the batch's transaction and published after its commit,
before the sends are answered. One writer task per node takes every send
that is waiting (up to `max_batch`) and stores them together: one access query for all
(sender, conversation) pairs, one idempotency lookup, one mention check, the batch's
conversations locked in id order and renumbered with one executemany UPDATE, one
multi-row INSERT, one commit. No timer: while a batch commits the next one gathers, so
under light load a batch is a single send and waits for nothing, and under heavy load
the commit and the round trips are shared by everyone in it.

A send the batch refuses (not a participant, muted, a mention of a non-participant, an
optimisticId already used for another conversation) fails alone and the rest go on. If
the transaction fails as a whole on a unique constraint (an identical send committed
meanwhile, say on another node), each send of the batch is stored alone through the
one-send path, which finds the original. Any other failure (the database is away) fails
every send of the batch: none was acknowledged, each client retries with its
optimisticId.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from hubbub.domain.enums import MessageStatus, ParticipantStatus
from hubbub.domain.errors import Conflict, HubbubError, ValidationFailed
from hubbub.domain.ids import new_id, utcnow
from hubbub.events.catalog import NewMessage
from hubbub.metrics import Metrics
from hubbub.queries.views import Views, fresh_message_view
from hubbub.store.access import (
    SenderAccess,
    StoredKeys,
    access_for_sending,
    conversation_not_found,
    require_sender_can_send,
)
from hubbub.store.database import Database
from hubbub.store.dialect import among_pairs, pair_values
from hubbub.store.models import Message, Participant
from hubbub.store.prepared import Prepared, RawBatch
from hubbub.store.sequence import store_new_messages
from hubbub.wire.models import MessagePublic, SendMessage

log = logging.getLogger("hubbub.messages")

# What a send comes to: its message and whether this call stored it (False: the
# optimisticId repeated and this is the original).
Stored = tuple[MessagePublic, bool]


@dataclass(eq=False)
class PendingSend:
    """A validated send waiting for its batch (content checked, mentions deduplicated)."""

    sender: uuid.UUID
    conversation_id: uuid.UUID
    req: SendMessage
    content: str
    mentions: list[uuid.UUID]
    client_timestamp: datetime | None
    origin_socket: str | None = None  # hears `message_sent`, not `new_message`
    future: asyncio.Future[Stored] = field(init=False)

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()

    @property
    def key(self) -> tuple[uuid.UUID, str] | None:
        if self.req.optimistic_id is None:
            return None
        return (self.sender, self.req.optimistic_id)


def optimistic_id_taken() -> Conflict:
    return Conflict(
        "optimisticId was already used for another conversation", code="duplicate_optimistic_id"
    )


class SendBatcher:
    def __init__(
        self,
        db: Database,
        views: Views,
        store_alone: Callable[[PendingSend], Awaitable[Stored]],
        *,
        metrics: Metrics | None = None,
        max_batch: int = 256,
        writers: int = 1,
    ) -> None:
        """`writers`: batches stored at the same time (one for SQLite, which has one
        writer anyway; a few for PostgreSQL, so that a batch gathering while another is
        in flight need not wait for it)."""
        self._db = db
        self._writers = writers
        self._metrics = metrics
        self._views = views
        self._store_alone = store_alone
        self._max_batch = max_batch
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
            try:
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
                    _answer(pending, await self._store_alone(pending))
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

    async def _transaction(
        self, batch: list[PendingSend]
    ) -> dict[PendingSend, Stored | HubbubError]:
        now = utcnow()
        # On the driver itself (`hubbub.store.prepared`): through SQLAlchemy's async API the
        # batch's five statements cost more Python than the whole rest of a send.
        async with self._db.raw_writers.batch() as tx:
            outcomes, repeats, retried = await self._store(tx, batch, now)
        if retried:
            await self._answer_retries(retried, outcomes)
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
    ) -> tuple[
        dict[PendingSend, Stored | HubbubError],
        list[tuple[PendingSend, PendingSend]],
        dict[PendingSend, uuid.UUID],
    ]:
        """The batch's transaction: the outcome of each send stored or refused, the
        repeats of an earlier send of the batch, and the sends whose optimisticId is
        stored already (with their original's id)."""
        outcomes: dict[PendingSend, Stored | HubbubError] = {}
        accesses, stored = await access_for_sending(
            tx,
            {(p.sender, p.conversation_id) for p in batch},
            {p.key for p in batch if p.key is not None},
        )
        admitted: list[PendingSend] = []
        for pending in batch:
            if (pending.sender, pending.conversation_id) not in accesses:
                outcomes[pending] = conversation_not_found()
            else:
                admitted.append(pending)
        fresh, repeats, retried = self._originals(stored, admitted, outcomes)
        for pending in fresh:
            try:
                require_sender_can_send(accesses[(pending.sender, pending.conversation_id)])
            except HubbubError as exc:
                outcomes[pending] = exc
        fresh = [p for p in fresh if p not in outcomes]
        fresh = await self._check_mentions(tx, fresh, outcomes)
        if fresh:
            await self._insert(tx, fresh, accesses, now, outcomes)
        return outcomes, repeats, retried

    def _originals(
        self,
        stored: StoredKeys,
        admitted: list[PendingSend],
        outcomes: dict[PendingSend, Stored | HubbubError],
    ) -> tuple[
        list[PendingSend], list[tuple[PendingSend, PendingSend]], dict[PendingSend, uuid.UUID]
    ]:
        """Split the admitted sends into sends to store, repeats of an earlier send of
        this batch, and retries of a stored send (whose original is named)."""
        fresh: list[PendingSend] = []
        repeats: list[tuple[PendingSend, PendingSend]] = []
        retried: dict[PendingSend, uuid.UUID] = {}
        first_with: dict[tuple[uuid.UUID, str], PendingSend] = {}
        for pending in admitted:
            key = pending.key
            if key is None:
                fresh.append(pending)
                continue
            original = stored.get(key)
            if original is not None:
                message_id, conversation_id = original
                if conversation_id != pending.conversation_id:
                    outcomes[pending] = optimistic_id_taken()
                else:
                    retried[pending] = message_id
            elif key in first_with:
                repeats.append((pending, first_with[key]))
            else:
                first_with[key] = pending
                fresh.append(pending)
        return fresh, repeats, retried

    async def _answer_retries(
        self,
        retried: dict[PendingSend, uuid.UUID],
        outcomes: dict[PendingSend, Stored | HubbubError],
    ) -> None:
        """A retry of a stored send (rare) gets its original's current view: reactions,
        edits and all, as its sender sees it."""
        wanted = set(retried.values())
        async with self._db.read() as session:
            found = await session.scalars(select(Message).where(Message.id.in_(wanted)))
            originals = {m.id: m for m in found.all()}
            for pending, message_id in retried.items():
                (view,) = await self._views.messages(
                    session, [originals[message_id]], pending.sender
                )
                outcomes[pending] = (view, False)

    async def _check_mentions(
        self,
        tx: RawBatch,
        fresh: list[PendingSend],
        outcomes: dict[PendingSend, Stored | HubbubError],
    ) -> list[PendingSend]:
        wanted = {(p.conversation_id, u) for p in fresh for u in p.mentions}
        if not wanted:
            return fresh
        present = set(await tx.rows(_MENTIONED, pair_values(wanted)))
        kept: list[PendingSend] = []
        for pending in fresh:
            if all((pending.conversation_id, u) in present for u in pending.mentions):
                kept.append(pending)
            else:
                outcomes[pending] = ValidationFailed(
                    "mentions: every mentioned user must be a participant"
                )
        return kept

    async def _insert(
        self,
        tx: RawBatch,
        fresh: list[PendingSend],
        accesses: dict[tuple[uuid.UUID, uuid.UUID], SenderAccess],
        now: datetime,
        outcomes: dict[PendingSend, Stored | HubbubError],
    ) -> None:
        made = [
            (
                pending,
                new_message_row(
                    new_id(),
                    pending.conversation_id,
                    pending.sender,
                    pending.req,
                    content=pending.content,
                    mentions=pending.mentions,
                    client_timestamp=pending.client_timestamp,
                    seq=None,
                    now=now,
                ),
            )
            for pending in fresh
        ]
        rows: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for pending, row in made:
            rows.setdefault(pending.conversation_id, []).append(row)
        last_seqs = {
            cid: accesses[(batch[0]["sender_id"], cid)].last_seq for cid, batch in rows.items()
        }
        numbered = await store_new_messages(tx, rows, last_seqs, now)
        for pending, row in made:
            if row["id"] not in numbered:  # the conversation was deleted meanwhile
                outcomes[pending] = conversation_not_found()
                continue
            sender = accesses[(pending.sender, pending.conversation_id)].sender
            # A new message has no reactions, no files and nobody has read it: its view
            # needs no further queries.
            view = fresh_message_view(row, sender, [])
            tx.emit(NewMessage(view, pending.origin_socket))
            outcomes[pending] = (view, True)


# The batch's statements, built once, on the tables, run on the driver.
_MESSAGES = cast(Table, Message.__table__)
_PARTICIPANTS = cast(Table, Participant.__table__)
_MENTIONED = Prepared(
    select(_PARTICIPANTS.c.conversation_id, _PARTICIPANTS.c.user_id)
    .where(among_pairs(_PARTICIPANTS.c.conversation_id, _PARTICIPANTS.c.user_id))
    .where(_PARTICIPANTS.c.status == ParticipantStatus.ACTIVE)
)


def new_message_row(
    message_id: uuid.UUID,
    conversation_id: uuid.UUID,
    sender: uuid.UUID,
    req: SendMessage,
    *,
    content: str,
    mentions: list[uuid.UUID],
    client_timestamp: datetime | None,
    seq: int | None,
    now: datetime,
) -> dict[str, Any]:
    """The `messages` row of a new message (not a reply), by column name (`seq` None:
    numbered when stored)."""
    return {
        "id": message_id,
        "conversation_id": conversation_id,
        "sender_id": sender,
        "type": req.type,
        "content": content,
        "status": MessageStatus.SENT,
        "seq": seq,
        "change_seq": seq,
        "parent_message_id": None,
        "thread_id": None,
        "reply_count": 0,
        "metadata": dict(req.metadata),
        "mentions": mentions,
        "client_timestamp": client_timestamp,
        "server_timestamp": now,
        "created_at": now,
        "updated_at": now,
        "edited_at": None,
        "deleted_at": None,
        "optimistic_id": req.optimistic_id,
    }


def _answer(pending: PendingSend, outcome: Stored | BaseException) -> None:
    if pending.future.done():
        return
    if isinstance(outcome, BaseException):
        pending.future.set_exception(outcome)
    else:
        pending.future.set_result(outcome)

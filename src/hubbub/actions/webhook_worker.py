"""The outgoing webhook worker: one per node, started by the lifespan.

A round (1) scans: for each live subscription, the messages past its cursor in each of
the account's conversations become deliveries, and the cursor moves, in one transaction
(the send path writes nothing for webhooks; a message stored is a message the next scan
finds, so a node that stops loses none); (2) claims due deliveries, each the first still
pending of its subscription and conversation, and holds them for a lease (PostgreSQL:
`FOR UPDATE SKIP LOCKED`, so two nodes never take the same one); (3) POSTs them, signed
(`hubbub.actions.webhook_http`), and records the outcome: delivered, or tried again
after 1, 2, 4, ... seconds (capped), or dead after HUBBUB_WEBHOOK_MAX_ATTEMPTS. A 2xx
answer may carry a reply, posted as the account through the normal send (its
optimisticId is the event id, so a repeated delivery posts it once). New messages on
this node wake the worker at once; otherwise it looks every HUBBUB_WEBHOOK_POLL_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx
import orjson
from pydantic import ValidationError

from hubbub.actions.send import SendService
from hubbub.actions.webhook_http import AddressRefused, post_event
from hubbub.domain.enums import MessageType
from hubbub.domain.errors import HubbubError
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.webhook_rules import (
    DeliveryStatus,
    EventKind,
    Network,
    SeenMessage,
    event_for,
    is_dead,
    retry_delay_s,
)
from hubbub.events.catalog import CommandReply
from hubbub.events.envelope import Envelope
from hubbub.store.database import Database
from hubbub.store.unit import emit
from hubbub.store.webhooks import (
    Claimed,
    NewDelivery,
    NewMessage,
    ScanTarget,
    add_deliveries,
    any_due_txn,
    claim_due_txn,
    finish_txn,
    live_subscriptions_txn,
    lock_subscription_txn,
    move_cursor_txn,
    new_messages_txn,
    scan_targets_txn,
)
from hubbub.tracing import Tracing
from hubbub.wire.events import CommandReplyPayload
from hubbub.wire.fields import MAX_CONTENT
from hubbub.wire.models import SendMessage
from hubbub.wire.webhooks import EventConversation, EventMessage, WebhookEvent, WebhookReply

log = logging.getLogger("hubbub.webhooks")

# Messages one scan turns into deliveries per conversation, and conversations per
# subscription; the rest waits for the next round.
SCAN_MESSAGES = 200
SCAN_CONVERSATIONS = 100
# The shortest pause between two rounds that found nothing to send.
COALESCE_S = 0.05


@dataclass(frozen=True)
class WebhookLimits:
    allowed: Sequence[Network]  # networks the operator allows despite being private
    poll_s: float
    timeout_s: float
    max_attempts: int
    backoff_s: float
    backoff_max_s: float
    batch: int  # deliveries claimed (and sent at once) per round

    @property
    def lease_s(self) -> float:
        return self.timeout_s * 2 + 5


def wanted_events(listed: str) -> frozenset[EventKind]:
    return frozenset(EventKind(e) for e in listed.split(",") if e)


def message_event(
    account: uuid.UUID, target: ScanTarget, m: NewMessage, kind: EventKind
) -> NewDelivery:
    event_id = new_id()
    event = WebhookEvent(
        id=event_id,
        type=kind.value,
        account_id=account,
        created_at=utcnow(),
        conversation=EventConversation(
            id=target.conversation_id, type="PRIVATE" if target.private else "GROUP"
        ),
        message=EventMessage(
            id=m.id,
            seq=m.seq,
            sender_id=m.sender_id,
            sender_name=m.sender_name,
            type=m.type.value,
            content=m.content,
            mentions=m.mentions,
            parent_message_id=m.parent_message_id,
            created_at=m.created_at,
        ),
    )
    return NewDelivery(event_id, kind.value, target.conversation_id, m.seq, event.wire())


class WebhookWorker:
    def __init__(
        self,
        db: Database,
        send: SendService,
        limits: WebhookLimits,
        tracing: Tracing,
    ) -> None:
        self._db = db
        self._send = send
        self._limits = limits
        self._tracing = tracing
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    # The bus subscriber: a committed new message wakes the worker.
    async def deliver(self, envelope: Envelope) -> None:
        if envelope.name == "new_message":
            self._wake.set()

    async def resync(self) -> None:
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._http = httpx.AsyncClient(
                timeout=self._limits.timeout_s, follow_redirects=False, trust_env=False
            )
            self._task = asyncio.create_task(self._run_forever(), name="hubbub-webhooks")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run_forever(self) -> None:
        while True:
            self._wake.clear()
            busy = 0
            try:
                # Its own trace, named: a round's statements are not loose spans, and
                # are never mistaken for part of the send that woke it.
                with self._tracing.span("hubbub.webhooks.round"):
                    await self.scan()
                    busy = await self.deliver_round()
            except Exception:  # the next round tries again
                log.exception("webhooks: a round failed")
            if busy:
                await asyncio.sleep(0)
                continue
            # New messages wake it; a burst of them makes one round, not one each.
            await asyncio.sleep(COALESCE_S)
            # `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` loses a
            # cancellation that lands as the wake-up does, and `close` then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._limits.poll_s):
                    await self._wake.wait()

    # Scanning ---------------------------------------------------------------------

    async def scan(self) -> int:
        """New messages of every live subscription into deliveries; how many. Read
        first: only a subscription with messages past its cursor takes a write."""
        message_kinds = {EventKind.NEW_MESSAGE, EventKind.MENTION, EventKind.DIRECT}
        behind = []
        async with self._db.read() as session:
            for sub in await live_subscriptions_txn(session):
                wanted = wanted_events(sub.events)
                if wanted & message_kinds and await scan_targets_txn(session, sub, 1):
                    behind.append((sub.id, wanted))
        made = 0
        for subscription_id, wanted in behind:
            made += await self._scan_one(subscription_id, wanted)
        return made

    async def _scan_one(self, subscription_id: uuid.UUID, wanted: frozenset[EventKind]) -> int:
        made = 0
        async with self._db.write() as session:
            sub = await lock_subscription_txn(session, subscription_id)
            if sub is None:
                return 0
            for target in await scan_targets_txn(session, sub, SCAN_CONVERSATIONS):
                messages = await new_messages_txn(session, target, SCAN_MESSAGES)
                deliveries = []
                for m in messages:
                    seen = SeenMessage(
                        sender_is_account=m.sender_id == sub.user_id,
                        mentions_account=sub.user_id in m.mentions,
                        private_conversation=target.private,
                        system=m.type == MessageType.SYSTEM,
                    )
                    kind = event_for(seen, wanted)
                    if kind is not None:
                        deliveries.append(message_event(sub.user_id, target, m, kind))
                add_deliveries(session, sub.id, deliveries)
                made += len(deliveries)
                full = len(messages) == SCAN_MESSAGES
                reached = messages[-1].seq if full else target.last_seq
                await move_cursor_txn(session, sub.id, target.conversation_id, reached)
        return made

    # Delivering -------------------------------------------------------------------

    async def deliver_round(self) -> int:
        """Claim due deliveries and send them; how many were claimed."""
        async with self._db.read() as session:
            if not await any_due_txn(session, utcnow()):
                return 0
        async with self._db.write() as session:
            claimed = await claim_due_txn(
                session, utcnow(), self._limits.batch, self._limits.lease_s
            )
        if claimed:
            await asyncio.gather(*(self._attempt(c) for c in claimed))
        return len(claimed)

    async def _attempt(self, c: Claimed) -> None:
        http = self._http
        if http is None:
            return
        body = orjson.dumps(c.payload)
        error: str | None = None
        answer_body = b""
        try:
            # The whole exchange, not each read: an endpoint that answers a byte at a
            # time must not hold a delivery past its lease. (`asyncio.timeout`: see
            # `_run_forever` on `wait_for` and cancellation.)
            async with asyncio.timeout(self._limits.timeout_s):
                answer = await post_event(
                    http,
                    c.url,
                    secret=c.secret,
                    event_id=str(c.id),
                    event=c.event,
                    body=body,
                    allowed=self._limits.allowed,
                )
            answer_body = answer.body
            if not 200 <= answer.status < 300:
                error = f"HTTP {answer.status}"
        except AddressRefused as exc:
            error = f"refused: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        except TimeoutError:
            error = f"no answer within {self._limits.timeout_s:g} s"
        now = utcnow()
        if error is None:
            note, shown = await self._reply(c, answer_body)
            async with self._db.write() as session:
                await finish_txn(
                    session, c.id, status=DeliveryStatus.DELIVERED, error=note, now=now
                )
                if shown is not None:  # to the caller's sockets, once this is committed
                    emit(session, shown)
            return
        dead = is_dead(c.attempts, self._limits.max_attempts)
        delay = retry_delay_s(
            c.attempts, base_s=self._limits.backoff_s, cap_s=self._limits.backoff_max_s
        )
        log.info(
            "webhook delivery %s attempt %d failed (%s)%s",
            c.id,
            c.attempts,
            error,
            ": dead" if dead else "",
        )
        async with self._db.write() as session:
            await finish_txn(
                session,
                c.id,
                status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
                error=error,
                now=now,
                next_attempt_at=None if dead else now + timedelta(seconds=delay),
            )

    async def _reply(self, c: Claimed, body: bytes) -> tuple[str | None, CommandReply | None]:
        """Post the answer's reply, if any (or, for a command, show it to its caller
        only): a note for the log when it could not be posted, and the event to emit."""
        if not body.strip() or c.conversation_id is None:
            return None, None
        try:
            reply = WebhookReply.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            return None, None  # an answer without a reply
        text = reply.content if reply.content is not None else reply.text
        if not text or not text.strip():
            return None, None
        command = c.payload.get("command")
        if reply.ephemeral and c.event == EventKind.COMMAND and isinstance(command, dict):
            shown = CommandReplyPayload(
                conversation_id=c.conversation_id,
                event_id=c.id,
                name=str(command["name"]),
                content=text[:MAX_CONTENT],
            )
            return None, CommandReply(uuid.UUID(str(command["callerId"])), shown)
        try:
            request = SendMessage.model_validate(
                {"content": text, "optimisticId": f"webhook:{c.id}"}
            )
            await self._send.send_message(c.user_id, c.conversation_id, request)
        except (HubbubError, ValidationError) as exc:
            return f"reply not posted: {exc}"[:500], None
        return None, None

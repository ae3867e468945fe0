"""Sending a message: validate, rate-limit, store, answer.

Edge -> here -> the group commit (`hubbub.actions.send_batch`) or, for a send with files
or in a thread, the one-send path (`hubbub.actions.send_alone`) -> the store; events
after commit. HTTP and Socket.IO call the very same `send_message` (same validation,
idempotency, events). A send commits before anything is announced, and its writes are
O(1) whatever the group size: unread counts and message status are derived from read
markers, never counted per participant. Who is notified of it is decided after it is
answered, by the notifier (`hubbub.realtime.notifier`), never in the send's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hubbub.actions.send_alone import store_alone
from hubbub.actions.send_batch import SendBatcher
from hubbub.actions.send_rules import PendingSend, checked_content
from hubbub.domain.enums import MessageType
from hubbub.domain.errors import RateLimited, ValidationFailed
from hubbub.metrics import Metrics
from hubbub.queries.views import Views
from hubbub.realtime.limits import RateLimiter
from hubbub.realtime.notifier import Notifier
from hubbub.store.database import Database
from hubbub.tracing import NoTracing, Tracing
from hubbub.wire.models import MessagePublic, SendMessage


@dataclass(frozen=True)
class SendOutcome:
    message: MessagePublic
    created: bool  # False: the optimisticId repeated and this is the original


@dataclass(frozen=True)
class SendLimits:
    rate_per_s: float
    burst: int


class SendService:
    def __init__(
        self,
        db: Database,
        views: Views,
        limiter: RateLimiter,
        send_limits: SendLimits,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self._db = db
        self._views = views
        self._limiter = limiter
        self._send_limits = send_limits
        self._metrics = metrics
        self._notifier = notifier
        self._tracing: Tracing = tracing if tracing is not None else NoTracing()
        self._batcher = SendBatcher(
            db, views, metrics=metrics, writers=db.batch_writers, tracing=self._tracing
        )

    async def close(self) -> None:
        await self._batcher.close()

    async def send_message(
        self,
        sender: uuid.UUID,
        conversation_id: uuid.UUID,
        req: SendMessage,
        *,
        origin_socket: str | None = None,
    ) -> SendOutcome:
        with self._tracing.span("hubbub.send"):
            return await self._send(sender, conversation_id, req, origin_socket)

    async def _send(
        self,
        sender: uuid.UUID,
        conversation_id: uuid.UUID,
        req: SendMessage,
        origin_socket: str | None,
    ) -> SendOutcome:
        if req.type == MessageType.SYSTEM:
            raise ValidationFailed("type: SYSTEM messages are written by the server")
        attachment_ids = list(dict.fromkeys(req.attachments))
        content = checked_content(req.content, has_attachments=bool(attachment_ids))
        wait = await self._limiter.take_token(
            f"send:{sender}", self._send_limits.rate_per_s, self._send_limits.burst
        )
        if wait > 0:
            raise RateLimited(wait, "Sending too fast; slow down")
        mentions = list(dict.fromkeys(req.mentions))
        pending = PendingSend(
            sender=sender,
            conversation_id=conversation_id,
            req=req,
            content=content,
            mentions=mentions,
            client_timestamp=_as_utc(req.client_timestamp),
            origin_socket=origin_socket,
            trace_parent=self._tracing.current(),
        )
        if attachment_ids or req.parent_message_id is not None:
            # Files and threads have checks and writes of their own: a transaction alone.
            view, created = await store_alone(self._db, self._views, pending, attachment_ids)
        else:
            view, created = await self._batcher.submit(pending)
        if created:
            if self._metrics is not None:
                self._metrics.messages_sent.inc()
            if self._notifier is not None:
                # Committed and published: the notifier takes it from here, unawaited.
                self._notifier.offer(view)
        return SendOutcome(view, created=created)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

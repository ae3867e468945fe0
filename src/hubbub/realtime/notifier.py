"""Notifications of new messages: after commit, off the send path, best effort.

The send action of the node that stored a message hands it here (`offer`: a put, no await, no
query; a full queue drops it, counted in `hubbub_notifications_total{outcome="dropped"}`
and logged at most once a minute). One worker task takes what is waiting, up to
`max_batch` messages (while more keep coming, in rounds at least `GATHER_S` apart), and
reads every recipient's rules for all of them in one query (`RecipientsRead`: each
active participant of their conversations with their own level and mute, and their
defaults). `hubbub.domain.notify_rules.should_notify` decides; each user it admits gets
a `notification` event on the bus (every node's hub writes it to that user's sockets),
and a user no socket of any node is connected for (presence) gets
a Web Push on each of their subscriptions (`hubbub.realtime.webpush`): pushes run as
tasks of their own, so a slow push service never holds the queue up. A subscription the
push service calls gone (404, 410) is deleted.

The rules are those in force when the worker reads them, within a round of the commit
(`GATHER_S` while busy): a user who mutes a conversation and lifts the mute again at
once may still be notified of a message sent in between. Each message decided is
counted in `hubbub_notifier_decided_total`.

Only the node that stored a message notifies of it, so a push leaves once whatever the
number of nodes. Unlike messages, notifications are not durable: what waits in the
queue when the process stops is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import orjson

from hubbub.domain.enums import MessageType
from hubbub.domain.ids import utcnow
from hubbub.domain.notify_rules import (
    Candidates,
    Delivery,
    Recipient,
    notification_title,
    preview,
    should_notify,
)
from hubbub.events.catalog import Notification
from hubbub.events.sink import EventSink
from hubbub.metrics import Metrics
from hubbub.realtime.presence import Presence
from hubbub.realtime.webpush import PushResult, PushTarget, WebPushSender
from hubbub.wire.events import NotificationPayload
from hubbub.wire.models import MessagePublic

log = logging.getLogger("hubbub.notify")

RecipientsRead = Callable[[Candidates], Awaitable[list[Recipient]]]
TargetsRead = Callable[[Collection[uuid.UUID]], Awaitable[list[PushTarget]]]
Forget = Callable[[Collection[uuid.UUID]], Awaitable[None]]

# A dropped notification is logged at most this often (each one is counted).
DROP_LOG_INTERVAL_S = 60.0
# Rounds are at least this far apart while messages keep coming. Each reads the rules
# of its messages' recipients in one query, whose cost is mostly its own, not its
# rows': taken as they came, at 1,000 sends/s the rounds were of one to five messages
# and the notifier took 6 % of the node's CPU for groups where nobody was to be
# notified (2.7 % with this). A message after a quiet spell is decided at once.
GATHER_S = 0.05

# Push tasks in flight at once; beyond it a push is counted as failed, not queued.
MAX_PUSH_TASKS = 1000


@dataclass(frozen=True, slots=True)
class Notice:
    """What the notifier keeps of a new message: ids, who, whom it mentions, a preview."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_name: str
    mentions: frozenset[uuid.UUID]
    mention_all: bool
    preview: str


def notice_of(message: MessagePublic) -> Notice:
    sender = message.sender
    name = (sender.display_name or sender.username) if sender is not None else "Someone"
    return Notice(
        message_id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        sender_name=name,
        mentions=frozenset(message.mentions),
        mention_all=message.metadata.get("mentionAll") is True,
        preview=preview(message.content),
    )


@dataclass(frozen=True, slots=True)
class PushDelivery:
    """How the notifier reaches users with no socket: their subscriptions, the sender,
    and what deletes the subscriptions found gone."""

    targets: TargetsRead
    sender: WebPushSender
    forget: Forget


class Notifier:
    def __init__(
        self,
        recipients: RecipientsRead,
        events: EventSink,
        presence: Presence,
        metrics: Metrics,
        *,
        push: PushDelivery | None,
        queue_size: int,
        max_batch: int = 256,
    ) -> None:
        self._recipients = recipients
        self._events = events
        self._presence = presence
        self._metrics = metrics
        self._push = push
        self._max_batch = max_batch
        # The messages themselves: turning one into a `Notice` is the worker's job, so
        # that handing it over costs the send only a put.
        self._queue: asyncio.Queue[MessagePublic] = asyncio.Queue(maxsize=queue_size)
        self._dropped_count = metrics.notifications.labels("dropped")
        self._task: asyncio.Task[None] | None = None
        self._pushing: set[asyncio.Task[None]] = set()
        self._dropped_since_log = 0
        self._last_drop_log = float("-inf")

    def offer(self, message: MessagePublic) -> None:
        """Hand over a committed new message; never waits and never raises."""
        if message.type == MessageType.SYSTEM:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self._dropped()
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="hubbub-notifier")

    def _dropped(self) -> None:
        self._dropped_count.inc()
        self._dropped_since_log += 1
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL_S:
            log.warning("notifier queue full: %d notification(s) dropped", self._dropped_since_log)
            self._last_drop_log = now
            self._dropped_since_log = 0

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._notify([notice_of(m) for m in batch])
            except Exception:  # best effort: these are lost, the next ones go on
                self._metrics.notifications.labels("failed").inc(len(batch))
                log.exception("notifier: %d message(s) not notified", len(batch))
            else:
                self._metrics.notices_decided.inc(len(batch))
            if not self._queue.empty():  # busy: let the next round's messages gather
                await asyncio.sleep(GATHER_S)

    async def _notify(self, batch: list[Notice]) -> None:
        wanted = Candidates(
            conversation_ids=frozenset(n.conversation_id for n in batch),
            everyone_in=frozenset(n.conversation_id for n in batch if n.mention_all),
            mentioned=frozenset(u for n in batch for u in n.mentions),
        )
        recipients = await self._recipients(wanted)
        by_conversation: dict[uuid.UUID, list[Recipient]] = {}
        for recipient in recipients:
            by_conversation.setdefault(recipient.conversation_id, []).append(recipient)
        now = utcnow()
        events: list[Notification] = []
        for notice in batch:
            for r in by_conversation.get(notice.conversation_id, ()):
                mentioned = notice.mention_all or r.user_id in notice.mentions
                delivery = Delivery(
                    kind=r.kind,
                    conversation_level=r.conversation_level,
                    conversation_muted_until=r.conversation_muted_until,
                    mentioned=mentioned,
                    from_self=r.user_id == notice.sender_id,
                    at=now,
                )
                if should_notify(r.prefs, delivery):
                    events.append(_notification(notice, r, mentioned=mentioned))
        if not events:
            return
        await self._events.publish(events)
        self._metrics.notifications.labels("socket").inc(len(events))
        if self._push is not None:
            await self._push_to_absent(self._push, events)

    async def _push_to_absent(self, push: PushDelivery, events: list[Notification]) -> None:
        users = {e.user_id for e in events}
        absent = users - await self._presence.online(users)
        if not absent:
            return
        targets = await push.targets(absent)
        by_user: dict[uuid.UUID, list[PushTarget]] = {}
        for target in targets:
            by_user.setdefault(target.user_id, []).append(target)
        sends = [
            (target, orjson.dumps({"type": e.name, **e.notice.wire()}))
            for e in events
            for target in by_user.get(e.user_id, ())
        ]
        if not sends:
            return
        if len(self._pushing) >= MAX_PUSH_TASKS:
            self._metrics.pushes.labels("failed").inc(len(sends))
            log.warning("web push: too many in flight; %d push(es) not sent", len(sends))
            return
        task = asyncio.create_task(self._push_all(push, sends), name="hubbub-web-push")
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _push_all(self, push: PushDelivery, sends: list[tuple[PushTarget, bytes]]) -> None:
        results = await asyncio.gather(*(push.sender.send(t, body) for t, body in sends))
        gone: set[uuid.UUID] = set()
        for (target, _), result in zip(sends, results, strict=True):
            self._metrics.pushes.labels(result.value).inc()
            if result is PushResult.GONE:
                gone.add(target.subscription_id)
        if gone:
            try:
                await push.forget(gone)
            except Exception:  # they will answer gone again next time
                log.exception("web push: deleting %d gone subscription(s) failed", len(gone))

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._pushing) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _notification(notice: Notice, recipient: Recipient, *, mentioned: bool) -> Notification:
    title = notification_title(notice.sender_name, recipient.kind, recipient.conversation_name)
    payload = NotificationPayload(
        conversation_id=notice.conversation_id,
        message_id=notice.message_id,
        seq=notice.seq,
        sender_id=notice.sender_id,
        title=title,
        body=notice.preview,
        mentioned=mentioned,
    )
    return Notification(recipient.user_id, payload)

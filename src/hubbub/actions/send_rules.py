"""A send waiting to be stored, and the checks every send passes, on either path.

`hubbub.actions.send` validates a send into a `PendingSend`; the group commit
(`hubbub.actions.send_batch`) and the one-send path (`hubbub.actions.send_alone`) store
it, deciding with the same functions, in the same order: the sender is an ACTIVE
participant (`admitted`), the optimisticId is new or repeats a send to the same
conversation (`split_originals`), the sender may send (`refuse_muted`), every mention is
a participant (`refuse_unknown_mentions`). The lookups are the store's
(`hubbub.store.access.access_for_sending`, `hubbub.store.send_batch_txn`); the rules
here work on a list of sends, and a send they refuse gets its error as its outcome
while the rest go on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.errors import Conflict, HubbubError, ValidationFailed
from hubbub.domain.rules import (
    conversation_not_found,
    require_sender_can_send,
)
from hubbub.queries.views import Views
from hubbub.store.access import (
    SenderAccess,
    StoredKeys,
)
from hubbub.store.messages_read import messages_by_ids_txn
from hubbub.store.prepared import Statements
from hubbub.store.send_batch_txn import present_mentions_txn
from hubbub.wire.fields import MAX_CONTENT
from hubbub.wire.models import MessagePublic, SendMessage

# What a send comes to: its message and whether this call stored it (False: the
# optimisticId repeated and this is the original).
Stored = tuple[MessagePublic, bool]

Accesses = dict[tuple[uuid.UUID, uuid.UUID], SenderAccess]


@dataclass(eq=False)
class PendingSend:
    """A validated send waiting to be stored (content checked, mentions deduplicated)."""

    sender: uuid.UUID
    conversation_id: uuid.UUID
    req: SendMessage
    content: str
    mentions: list[uuid.UUID]
    client_timestamp: datetime | None
    origin_socket: str | None = None  # hears `message_sent`, not `new_message`
    trace_parent: object | None = None  # the sender's trace context (`hubbub.tracing`)
    future: asyncio.Future[Stored] = field(init=False)
    queued_at: float = field(init=False)  # `time.monotonic()` when it was made

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()
        self.queued_at = time.monotonic()

    @property
    def key(self) -> tuple[uuid.UUID, str] | None:
        if self.req.optimistic_id is None:
            return None
        return (self.sender, self.req.optimistic_id)


# Each send's outcome, as decided: stored, or refused with its error.
Outcomes = dict[PendingSend, Stored | HubbubError]


def optimistic_id_taken() -> Conflict:
    return Conflict(
        "optimisticId was already used for another conversation", code="duplicate_optimistic_id"
    )


def checked_content(content: str, *, has_attachments: bool) -> str:
    """A message's text as stored (a send's, an edit's): trimmed, not too long, and not
    empty unless files carry the message."""
    text = content.strip()
    if len(text) > MAX_CONTENT:
        raise ValidationFailed(f"content: must be at most {MAX_CONTENT} characters")
    if not text and not has_attachments:
        raise ValidationFailed("content: must not be empty")
    return text


def admitted(sends: list[PendingSend], accesses: Accesses, outcomes: Outcomes) -> list[PendingSend]:
    """The sends whose sender is ACTIVE in the conversation; the others are NotFound."""
    kept: list[PendingSend] = []
    for pending in sends:
        if (pending.sender, pending.conversation_id) not in accesses:
            outcomes[pending] = conversation_not_found()
        else:
            kept.append(pending)
    return kept


def split_originals(
    stored: StoredKeys, sends: list[PendingSend], outcomes: Outcomes
) -> tuple[list[PendingSend], list[tuple[PendingSend, PendingSend]], dict[PendingSend, uuid.UUID]]:
    """Split admitted sends into sends to store, repeats of an earlier send of the same
    list, and retries of a stored send (whose original is named). An optimisticId
    already used for another conversation is a Conflict."""
    fresh: list[PendingSend] = []
    repeats: list[tuple[PendingSend, PendingSend]] = []
    retried: dict[PendingSend, uuid.UUID] = {}
    first_with: dict[tuple[uuid.UUID, str], PendingSend] = {}
    for pending in sends:
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


def refuse_muted(
    fresh: list[PendingSend], accesses: Accesses, outcomes: Outcomes
) -> list[PendingSend]:
    """The sends whose sender may send in the conversation; the others are Forbidden."""
    kept: list[PendingSend] = []
    for pending in fresh:
        try:
            require_sender_can_send(accesses[(pending.sender, pending.conversation_id)])
        except HubbubError as exc:
            outcomes[pending] = exc
        else:
            kept.append(pending)
    return kept


async def refuse_unknown_mentions(
    tx: Statements, fresh: list[PendingSend], outcomes: Outcomes
) -> list[PendingSend]:
    """The sends that mention only ACTIVE participants of their conversation (one lookup
    for every mention of every send); the others are refused."""
    wanted = {(p.conversation_id, u) for p in fresh for u in p.mentions}
    if not wanted:
        return fresh
    present = await present_mentions_txn(tx, wanted)
    kept: list[PendingSend] = []
    for pending in fresh:
        if all((pending.conversation_id, u) in present for u in pending.mentions):
            kept.append(pending)
        else:
            outcomes[pending] = ValidationFailed(
                "mentions: every mentioned user must be a participant"
            )
    return kept


def raise_refusal(pending: PendingSend, outcomes: Outcomes) -> None:
    """The one-send form of the rules above: a refused send raises its error."""
    outcome = outcomes.get(pending)
    if isinstance(outcome, HubbubError):
        raise outcome


async def original_views(
    session: AsyncSession, views: Views, retried: dict[PendingSend, uuid.UUID]
) -> dict[PendingSend, MessagePublic]:
    """What a retry of a stored send gets: its original's current view (reactions,
    edits and all), as its sender sees it."""
    found = {m.id: m for m in await messages_by_ids_txn(session, set(retried.values()))}
    answers: dict[PendingSend, MessagePublic] = {}
    for pending, message_id in retried.items():
        (answers[pending],) = await views.messages(session, [found[message_id]], pending.sender)
    return answers

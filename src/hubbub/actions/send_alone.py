"""One send in its own transaction: sends with files or in a thread, and the group
commit's fallback.

Edge -> `hubbub.actions.send.SendService` -> here -> the store; events after commit.
Files and threads have checks and writes of their own, so such a send is stored alone
rather than in a batch. When a batch loses a unique-constraint race (an identical send
committed meanwhile, say on another node), `hubbub.actions.send_batch` stores each of its
sends here too, where a repeated optimisticId finds its original. The checks are the
group commit's (`hubbub.actions.send_rules`); the writes are O(1) whatever the group
size: one UPDATE of the conversation (its next `seq`, under the row's lock), one INSERT
of the message (plus attachment links and, for a reply, the thread root's counter).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.send_rules import (
    Outcomes,
    PendingSend,
    Stored,
    admitted,
    original_views,
    raise_refusal,
    refuse_unknown_mentions,
    split_originals,
)
from hubbub.domain.errors import ValidationFailed
from hubbub.domain.ids import utcnow
from hubbub.domain.rules import (
    require_can_attach,
    require_can_send,
)
from hubbub.events.catalog import MessageUpdated, NewMessage
from hubbub.queries.presenters import attachment_public, fresh_message_view, sender_view
from hubbub.queries.views import Views
from hubbub.store.access import (
    SenderAccess,
    access_conversation,
    access_for_sending,
)
from hubbub.store.database import Database
from hubbub.store.messages_read import message_by_id_txn, message_in_txn
from hubbub.store.messages_write import attach_files_txn, count_reply_txn, owned_attachments_txn
from hubbub.store.models import Message, StoredFile
from hubbub.store.new_message import new_message_record
from hubbub.store.prepared import SessionStatements, Statements
from hubbub.store.sequence import insert_message_txn
from hubbub.store.unit import emit
from hubbub.wire.models import MessagePublic


async def store_alone(
    db: Database, views: Views, pending: PendingSend, attachment_ids: Sequence[uuid.UUID] = ()
) -> Stored:
    """One send in its own transaction: (message, created)."""
    try:
        return await _store(db, views, pending, attachment_ids)
    except IntegrityError:
        # An identical send (same optimisticId) committed first; it is the original.
        if pending.key is None:
            raise
        original = await _original(db, views, pending)
        if original is None:
            raise
        return original, False


async def _look_up(tx: Statements, pending: PendingSend) -> tuple[SenderAccess, uuid.UUID | None]:
    """The sender's access to the conversation (NotFound without), and the id of the
    message already stored under the send's optimisticId, if any (Conflict if that one
    went to another conversation): one query."""
    line = (pending.sender, pending.conversation_id)
    key = pending.key
    accesses, stored = await access_for_sending(tx, [line], [key] if key is not None else [])
    outcomes: Outcomes = {}
    _, _, retried = split_originals(stored, admitted([pending], accesses, outcomes), outcomes)
    raise_refusal(pending, outcomes)
    return accesses[line], retried.get(pending)


async def _original(db: Database, views: Views, pending: PendingSend) -> MessagePublic | None:
    async with db.read() as session:
        _, original = await _look_up(SessionStatements(session), pending)
        if original is None:
            return None
        return (await original_views(session, views, {pending: original}))[pending]


async def _store(
    db: Database, views: Views, pending: PendingSend, attachment_ids: Sequence[uuid.UUID]
) -> Stored:
    """The send's one transaction: (message, created)."""
    sender, conversation_id, req = pending.sender, pending.conversation_id, pending.req
    now = utcnow()
    async with db.write() as session:
        statements = SessionStatements(session)
        access, original = await _look_up(statements, pending)
        if original is not None:
            return (await original_views(session, views, {pending: original}))[pending], False
        # The sender's row, locked before the conversation's as a removal takes them: a
        # removal or mute committed since `_look_up` read is seen (PostgreSQL re-reads a
        # row it waited for); one not yet committed waits for this send.
        seat = await access_conversation(session, sender, conversation_id, lock=True)
        require_can_send(seat)
        files: list[StoredFile] = []
        if attachment_ids:
            require_can_attach(seat)
            files = await _checked_attachments(session, sender, attachment_ids)
        outcomes: Outcomes = {}
        await refuse_unknown_mentions(statements, [pending], outcomes)
        raise_refusal(pending, outcomes)
        root: Message | None = None
        parent_id: uuid.UUID | None = None
        if req.parent_message_id is not None:
            root, parent_id = await _thread_root(session, conversation_id, req.parent_message_id)
        record = new_message_record(
            conversation_id,
            sender,
            message_type=req.type,
            content=pending.content,
            metadata=dict(req.metadata),
            mentions=pending.mentions,
            now=now,
            client_timestamp=pending.client_timestamp,
            optimistic_id=req.optimistic_id,
            parent_message_id=parent_id,
            thread_id=root.id if root is not None else None,
        )
        await insert_message_txn(session, record)
        attach_files_txn(session, record["id"], attachment_ids)
        root_view: MessagePublic | None = None
        if root is not None:
            await count_reply_txn(session, conversation_id, root, now)
            (root_view,) = await views.messages(session, [root], sender)
        await session.flush()
        # A new message has no reactions and nobody has read it: its view needs no
        # further queries.
        attachments = [attachment_public(f, views.urls) for f in files]
        view = fresh_message_view(record, sender_view(access, views.urls), attachments)
        emit(session, NewMessage(view, pending.origin_socket))
        if root_view is not None:
            emit(session, MessageUpdated(root_view))
    return view, True


async def _checked_attachments(
    session: AsyncSession, sender: uuid.UUID, file_ids: Sequence[uuid.UUID]
) -> list[StoredFile]:
    owned = await owned_attachments_txn(session, sender, file_ids)
    if set(owned) != set(file_ids):
        raise ValidationFailed("attachments: unknown file id (upload it first)")
    return [owned[i] for i in file_ids]


async def _thread_root(
    session: AsyncSession, conversation_id: uuid.UUID, parent_id: uuid.UUID
) -> tuple[Message, uuid.UUID]:
    """The root of the thread a reply to `parent_id` joins, and the parent's id."""
    parent = await message_in_txn(session, conversation_id, parent_id)
    if parent is None:
        raise ValidationFailed("parentMessageId: no such message in this conversation")
    if parent.thread_id is None:
        return parent, parent.id
    root = await message_by_id_txn(session, parent.thread_id)
    if root is None:
        raise ValidationFailed("parentMessageId: no such message in this conversation")
    return root, parent.id

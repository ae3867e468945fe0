"""Messages: send, history, edit, delete, threads, reactions, read markers, resume, search.

Edge -> here -> storage; events after commit. HTTP and Socket.IO call the very same
`send_message` (same validation, idempotency, events). A send commits before anything
is announced; its writes are O(1) whatever the group size: the access check, one UPDATE
of the conversation (its next `seq`, under the row's lock), one INSERT of the message
(plus attachment links and, for a reply, the thread root's counter). Unread counts and
message status are derived from read markers, never counted per participant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from hubbub.actions.send_batch import PendingSend, SendBatcher, Stored, optimistic_id_taken
from hubbub.domain.enums import FileKind, MessageStatus, MessageType, ParticipantStatus
from hubbub.domain.errors import BadRequest, RateLimited, ValidationFailed
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.rules import (
    message_not_found,
    require_can_attach,
    require_can_delete,
    require_can_edit,
    require_can_send,
    require_not_deleted,
)
from hubbub.events.catalog import (
    MessageDeleted,
    MessagesDelivered,
    MessagesRead,
    MessageUpdated,
    NewMessage,
    UnreadCount,
)
from hubbub.metrics import Metrics
from hubbub.queries.views import Views, unread_counts
from hubbub.realtime.limits import RateLimiter
from hubbub.store.access import (
    ConversationAccess,
    access_conversation,
    access_conversations_of,
    access_message,
)
from hubbub.store.database import Database
from hubbub.store.dialect import fts_condition
from hubbub.store.models import Message, MessageFile, Participant, Reaction, StoredFile, User
from hubbub.store.sequence import take_seq
from hubbub.store.unit import emit
from hubbub.wire.models import (
    MAX_CONTENT,
    ChangesPage,
    MessagePage,
    MessagePublic,
    ReactionPublic,
    SearchPage,
    SendMessage,
    ThreadPage,
)


@dataclass(frozen=True)
class SendOutcome:
    message: MessagePublic
    created: bool  # False: the optimisticId repeated and this is the original


@dataclass(frozen=True)
class ReadOutcome:
    unread_count: int
    last_read_seq: int


@dataclass(frozen=True)
class SendLimits:
    rate_per_s: float
    burst: int


def invalid_cursor() -> BadRequest:
    return BadRequest("Cursor does not belong to this conversation", code="invalid_cursor")


def _checked_content(content: str, *, has_attachments: bool) -> str:
    text = content.strip()
    if len(text) > MAX_CONTENT:
        raise ValidationFailed(f"content: must be at most {MAX_CONTENT} characters")
    if not text and not has_attachments:
        raise ValidationFailed("content: must not be empty")
    return text


class MessageService:
    def __init__(
        self,
        db: Database,
        views: Views,
        limiter: RateLimiter,
        send_limits: SendLimits,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._views = views
        self._limiter = limiter
        self._send_limits = send_limits
        self._metrics = metrics
        self._batcher = SendBatcher(
            db,
            views,
            self._store_batched_alone,
            metrics=metrics,
            writers=db.batch_writers,
        )

    async def close(self) -> None:
        await self._batcher.close()

    # Sending ---------------------------------------------------------------------------

    async def send_message(
        self,
        sender: uuid.UUID,
        conversation_id: uuid.UUID,
        req: SendMessage,
        *,
        origin_socket: str | None = None,
    ) -> SendOutcome:
        if req.type == MessageType.SYSTEM:
            raise ValidationFailed("type: SYSTEM messages are written by the server")
        attachment_ids = list(dict.fromkeys(req.attachments))
        content = _checked_content(req.content, has_attachments=bool(attachment_ids))
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
        )
        if attachment_ids or req.parent_message_id is not None:
            # Files and threads have checks and writes of their own: a transaction alone.
            view, created = await self._store_alone(pending, attachment_ids)
        else:
            view, created = await self._batcher.submit(pending)
        if created and self._metrics is not None:
            self._metrics.messages_sent.inc()
        return SendOutcome(view, created=created)

    async def _store_alone(self, pending: PendingSend, attachment_ids: list[uuid.UUID]) -> Stored:
        """One send in its own transaction: (message, created)."""
        try:
            return await self._store(pending, attachment_ids)
        except IntegrityError:
            # An identical send (same optimisticId) committed first; it is the original.
            if pending.req.optimistic_id is None:
                raise
            original = await self._original(
                pending.sender, pending.conversation_id, pending.req.optimistic_id
            )
            if original is None:
                raise
            return original, False

    async def _store_batched_alone(self, pending: PendingSend) -> Stored:
        return await self._store_alone(pending, [])

    async def _original(
        self, sender: uuid.UUID, conversation_id: uuid.UUID, optimistic_id: str
    ) -> MessagePublic | None:
        async with self._db.read() as session:
            await access_conversation(session, sender, conversation_id)
            original = await session.scalar(
                select(Message)
                .where(Message.sender_id == sender)
                .where(Message.optimistic_id == optimistic_id)
            )
            if original is None:
                return None
            if original.conversation_id != conversation_id:
                raise optimistic_id_taken()
            (view,) = await self._views.messages(session, [original], sender)
            return view

    async def _store(self, pending: PendingSend, attachment_ids: list[uuid.UUID]) -> Stored:
        """The send's one transaction: (message, created)."""
        sender, conversation_id, req = pending.sender, pending.conversation_id, pending.req
        now = utcnow()
        async with self._db.write() as session:
            access = await access_conversation(session, sender, conversation_id)
            if req.optimistic_id is not None:
                original = await session.scalar(
                    select(Message)
                    .where(Message.sender_id == sender)
                    .where(Message.optimistic_id == req.optimistic_id)
                )
                if original is not None:
                    if original.conversation_id != conversation_id:
                        raise optimistic_id_taken()
                    (view,) = await self._views.messages(session, [original], sender)
                    return view, False
            require_can_send(access)
            files: list[StoredFile] = []
            if attachment_ids:
                require_can_attach(access)
                files = await self._check_attachments(session, sender, attachment_ids)
            mentions = pending.mentions
            if mentions:
                await self._check_mentions(session, conversation_id, mentions)
            root: Message | None = None
            parent_id: uuid.UUID | None = None
            if req.parent_message_id is not None:
                root, parent_id = await self._thread_root(
                    session, conversation_id, req.parent_message_id
                )
            message_id = new_id()
            seq = await take_seq(
                session, conversation_id, new_message=(message_id, now), count_delta=1
            )
            message = Message(
                id=message_id,
                conversation_id=conversation_id,
                sender_id=sender,
                type=req.type,
                content=pending.content,
                status=MessageStatus.SENT,
                seq=seq,
                change_seq=seq,
                parent_message_id=parent_id,
                thread_id=root.id if root is not None else None,
                reply_count=0,
                metadata_=dict(req.metadata),
                mentions=mentions,
                client_timestamp=pending.client_timestamp,
                server_timestamp=now,
                created_at=now,
                updated_at=now,
                optimistic_id=req.optimistic_id,
            )
            session.add(message)
            for position, file_id in enumerate(attachment_ids):
                session.add(MessageFile(message_id=message_id, file_id=file_id, position=position))
            root_view: MessagePublic | None = None
            if root is not None:
                root.reply_count += 1
                root.change_seq = await take_seq(session, conversation_id)
                root.updated_at = now
                await session.flush()
                (root_view,) = await self._views.messages(session, [root], sender)
            await session.flush()
            author = await session.get(User, sender)
            # A new message has no reactions and nobody has read it: its view needs no
            # further queries.
            view = self._views.new_message(message, author, files)
            emit(session, NewMessage(view, pending.origin_socket))
            if root_view is not None:
                emit(session, MessageUpdated(root_view))
        return view, True

    async def _check_attachments(
        self, session: AsyncSession, sender: uuid.UUID, file_ids: list[uuid.UUID]
    ) -> list[StoredFile]:
        owned = {
            f.id: f
            for f in (
                await session.scalars(
                    select(StoredFile)
                    .where(StoredFile.id.in_(file_ids))
                    .where(StoredFile.owner_id == sender)
                    .where(StoredFile.kind == FileKind.MESSAGE_ATTACHMENT)
                )
            ).all()
        }
        if set(owned) != set(file_ids):
            raise ValidationFailed("attachments: unknown file id (upload it first)")
        return [owned[i] for i in file_ids]

    async def _check_mentions(
        self, session: AsyncSession, conversation_id: uuid.UUID, mentions: list[uuid.UUID]
    ) -> None:
        present = set(
            (
                await session.scalars(
                    select(Participant.user_id)
                    .where(Participant.conversation_id == conversation_id)
                    .where(Participant.user_id.in_(mentions))
                    .where(Participant.status == ParticipantStatus.ACTIVE)
                )
            ).all()
        )
        if present != set(mentions):
            raise ValidationFailed("mentions: every mentioned user must be a participant")

    async def _thread_root(
        self, session: AsyncSession, conversation_id: uuid.UUID, parent_id: uuid.UUID
    ) -> tuple[Message, uuid.UUID]:
        parent = await _message_in(session, conversation_id, parent_id)
        if parent is None:
            raise ValidationFailed("parentMessageId: no such message in this conversation")
        if parent.thread_id is None:
            return parent, parent.id
        root = await session.get(Message, parent.thread_id)
        if root is None:
            raise ValidationFailed("parentMessageId: no such message in this conversation")
        return root, parent.id

    # Reading ---------------------------------------------------------------------------

    async def history(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        *,
        limit: int,
        before: uuid.UUID | None = None,
        after: uuid.UUID | None = None,
        around: uuid.UUID | None = None,
    ) -> MessagePage:
        if sum(x is not None for x in (before, after, around)) > 1:
            raise BadRequest("Use one of before, after and aroundId", code="invalid_cursor")
        async with self._db.read() as session:
            access = await access_conversation(session, viewer, conversation_id)
            in_conversation = Message.conversation_id == conversation_id
            rows: list[Message]
            if around is not None:
                pivot = await self._cursor(session, conversation_id, around)
                older, more_older = await _page(
                    session,
                    in_conversation,
                    Message.seq < pivot.seq,
                    limit=(limit - 1) // 2,
                    desc=True,
                )
                newer, more_newer = await _page(
                    session, in_conversation, Message.seq > pivot.seq, limit=limit - 1 - len(older)
                )
                rows = [*reversed(older), pivot, *newer]
                has_more = more_older or more_newer
            elif after is not None:
                cursor = await self._cursor(session, conversation_id, after)
                rows, has_more = await _page(
                    session, in_conversation, Message.seq > cursor.seq, limit=limit
                )
            else:
                bound = (
                    Message.seq < (await self._cursor(session, conversation_id, before)).seq
                    if before is not None
                    else Message.seq > 0
                )
                newest_first, has_more = await _page(
                    session, in_conversation, bound, limit=limit, desc=True
                )
                rows = list(reversed(newest_first))
            views = await self._views.messages(session, rows, viewer)
            return MessagePage(
                messages=views,
                has_more=has_more,
                total_count=access.conversation.message_count,
            )

    async def _cursor(
        self, session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> Message:
        cursor = await _message_in(session, conversation_id, message_id)
        if cursor is None:
            raise invalid_cursor()
        return cursor

    async def get_message(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> MessagePublic:
        async with self._db.read() as session:
            _, message = await access_message(session, viewer, conversation_id, message_id)
            (view,) = await self._views.messages(session, [message], viewer)
            return view

    async def thread(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        *,
        limit: int,
        after: uuid.UUID | None,
    ) -> ThreadPage:
        async with self._db.read() as session:
            _, message = await access_message(session, viewer, conversation_id, message_id)
            root_id = message.thread_id or message.id
            conditions = [Message.thread_id == root_id, Message.conversation_id == conversation_id]
            if after is not None:
                cursor = await self._cursor(session, conversation_id, after)
                if cursor.thread_id != root_id:
                    raise invalid_cursor()
                conditions.append(Message.seq > cursor.seq)
            rows, has_more = await _page(session, *conditions, limit=limit)
            return ThreadPage(
                messages=await self._views.messages(session, rows, viewer), has_more=has_more
            )

    async def changes(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, *, since: int, limit: int
    ) -> ChangesPage:
        async with self._db.read() as session:
            access = await access_conversation(session, viewer, conversation_id)
            return await self._changes(session, access, viewer, since=since, limit=limit)

    async def _changes(
        self,
        session: AsyncSession,
        access: ConversationAccess,
        viewer: uuid.UUID,
        *,
        since: int,
        limit: int,
    ) -> ChangesPage:
        # The bound is read before the messages: a change committed in between has a
        # higher number and waits for the next page, so nothing is skipped.
        upto = access.conversation.last_seq
        rows, has_more = await _page(
            session,
            Message.conversation_id == access.conversation.id,
            Message.change_seq > since,
            Message.change_seq <= upto,
            limit=limit,
            order=Message.change_seq,
        )
        last = rows[-1].change_seq if has_more else max(upto, since)
        return ChangesPage(
            changes=await self._views.messages(session, rows, viewer),
            last_seq=last,
            has_more=has_more,
        )

    async def sync(
        self, viewer: uuid.UUID, known: dict[uuid.UUID, int], *, limit: int
    ) -> tuple[dict[uuid.UUID, ChangesPage], list[uuid.UUID]]:
        """Resume (PROTOCOL.md): per known conversation, the changes after the client's
        number; conversations the viewer is no longer in come back as `removed`.

        A reconnect storm is many of these at once, so the work is shared: one access
        query for every conversation, nothing more for one without changes, one query
        for the pages of up to `SYNC_CONVERSATIONS_PER_QUERY` others, and one set of
        view queries for all their rows.
        """
        pages: dict[uuid.UUID, ChangesPage] = {}
        async with self._db.read() as session:
            accesses = await access_conversations_of(session, viewer, list(known))
            removed = [cid for cid in known if cid not in accesses]
            # The bounds are read before the messages: a change committed in between has
            # a higher number and waits for the next page, so nothing is skipped.
            wanted: list[tuple[uuid.UUID, int, int]] = []
            for conversation_id, since in known.items():
                access = accesses.get(conversation_id)
                if access is None:
                    continue
                upto = access.conversation.last_seq
                if upto <= since:
                    pages[conversation_id] = ChangesPage(changes=[], last_seq=since, has_more=False)
                else:
                    wanted.append((conversation_id, since, upto))
            found: dict[uuid.UUID, list[Message]] = {}
            for start in range(0, len(wanted), SYNC_CONVERSATIONS_PER_QUERY):
                chunk = wanted[start : start + SYNC_CONVERSATIONS_PER_QUERY]
                for message in await _changes_of_many(session, chunk, limit=limit):
                    found.setdefault(message.conversation_id, []).append(message)
            kept = {cid: found.get(cid, [])[:limit] for cid, _, _ in wanted}
            every_row = [m for rows in kept.values() for m in rows]
            views = iter(await self._views.messages(session, every_row, viewer))
        for conversation_id, _, upto in wanted:
            rows = kept[conversation_id]
            has_more = len(found.get(conversation_id, [])) > limit
            pages[conversation_id] = ChangesPage(
                changes=[next(views) for _ in rows],
                last_seq=rows[-1].change_seq if has_more else upto,
                has_more=has_more,
            )
        return {cid: pages[cid] for cid in known if cid in pages}, removed

    async def search(
        self,
        viewer: uuid.UUID,
        query: str,
        *,
        conversation_id: uuid.UUID | None,
        limit: int,
        before: uuid.UUID | None,
    ) -> SearchPage:
        match = fts_condition(self._db.dialect, query)
        if match is not None:
            await self._db.catch_up_search_index()
        async with self._db.read() as session:
            if conversation_id is not None:
                # Before anything else: a conversation the caller is not in is a 404,
                # whatever the query.
                await access_conversation(session, viewer, conversation_id)
                scope = Message.conversation_id == conversation_id
            else:
                scope = Message.conversation_id.in_(
                    select(Participant.conversation_id)
                    .where(Participant.user_id == viewer)
                    .where(Participant.status == ParticipantStatus.ACTIVE)
                )
            if match is None:
                return SearchPage(messages=[], has_more=False)
            conditions = [scope, match, Message.deleted_at.is_(None)]
            if before is not None:
                cursor = await session.get(Message, before)
                if cursor is None or not await self._visible(session, viewer, cursor):
                    raise invalid_cursor()
                conditions.append(
                    or_(
                        Message.created_at < cursor.created_at,
                        and_(Message.created_at == cursor.created_at, Message.id < cursor.id),
                    )
                )
            rows = (
                await session.scalars(
                    select(Message)
                    .where(*conditions)
                    .order_by(Message.created_at.desc(), Message.id.desc())
                    .limit(limit + 1)
                )
            ).all()
            page = list(rows[:limit])
            return SearchPage(
                messages=await self._views.messages(session, page, viewer),
                has_more=len(rows) > limit,
            )

    @staticmethod
    async def _visible(session: AsyncSession, viewer: uuid.UUID, message: Message) -> bool:
        found = await session.scalar(
            select(Participant.id)
            .where(Participant.conversation_id == message.conversation_id)
            .where(Participant.user_id == viewer)
            .where(Participant.status == ParticipantStatus.ACTIVE)
        )
        return found is not None

    # Changing --------------------------------------------------------------------------

    async def edit(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, content: str
    ) -> MessagePublic:
        async with self._db.write() as session:
            access, message = await access_message(
                session, viewer, conversation_id, message_id, lock_message=True
            )
            require_can_edit(access, message)
            require_not_deleted(message)
            has_files = await session.scalar(
                select(MessageFile.file_id).where(MessageFile.message_id == message_id).limit(1)
            )
            text = _checked_content(content, has_attachments=has_files is not None)
            changed = text != message.content
            if changed:
                now = utcnow()
                message.content = text
                message.edited_at = now
                message.updated_at = now
                message.change_seq = await take_seq(session, conversation_id)
                await session.flush()
            (view,) = await self._views.messages(session, [message], viewer)
            if changed:
                emit(session, MessageUpdated(view))
        return view

    async def delete(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> MessagePublic:
        async with self._db.write() as session:
            access, message = await access_message(
                session, viewer, conversation_id, message_id, lock_message=True
            )
            require_can_delete(access, message)
            if message.deleted_at is None:
                now = utcnow()
                message.status = MessageStatus.DELETED
                message.content = ""
                message.deleted_at = now
                message.updated_at = now
                message.change_seq = await take_seq(session, conversation_id, count_delta=-1)
                await session.execute(delete(Reaction).where(Reaction.message_id == message_id))
                await session.execute(
                    delete(MessageFile).where(MessageFile.message_id == message_id)
                )
                root = await session.get(Message, message.thread_id) if message.thread_id else None
                if root is not None:
                    root.reply_count = max(0, root.reply_count - 1)
                    root.change_seq = await take_seq(session, conversation_id)
                    root.updated_at = now
                await session.flush()
                (view,) = await self._views.messages(session, [message], viewer)
                emit(session, MessageDeleted(view))
                if root is not None:
                    (root_view,) = await self._views.messages(session, [root], viewer)
                    emit(session, MessageUpdated(root_view))
            else:
                (view,) = await self._views.messages(session, [message], viewer)
        return view

    async def react(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        emoji: str,
        *,
        add: bool,
    ) -> list[ReactionPublic]:
        async with self._db.write() as session:
            _, message = await access_message(
                session, viewer, conversation_id, message_id, lock_message=True
            )
            require_not_deleted(message)
            existing = await session.scalar(
                select(Reaction)
                .where(Reaction.message_id == message_id)
                .where(Reaction.user_id == viewer)
                .where(Reaction.emoji == emoji)
            )
            changed = (existing is None) if add else (existing is not None)
            if changed:
                if add:
                    session.add(
                        Reaction(id=new_id(), message_id=message_id, user_id=viewer, emoji=emoji)
                    )
                else:
                    await session.delete(existing)
                message.change_seq = await take_seq(session, conversation_id)
                message.updated_at = utcnow()
                await session.flush()
            (view,) = await self._views.messages(session, [message], viewer)
            if changed:
                emit(session, MessageUpdated(view))
        return view.reactions

    # Markers ---------------------------------------------------------------------------

    async def mark_read(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> ReadOutcome:
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id, lock=True)
            message = await self._cursor_or_404(session, conversation_id, message_id)
            me = access.me
            moved = message.seq > me.last_read_seq
            if moved:
                now = utcnow()
                me.last_read_seq = message.seq
                me.last_read_at = now
                me.last_read_message_id = message.id
                me.last_delivered_seq = max(me.last_delivered_seq, message.seq)
                me.updated_at = now
                await session.flush()
            unread = (await unread_counts(session, viewer, [conversation_id]))[conversation_id]
            if moved:
                emit(
                    session,
                    MessagesRead(conversation_id, viewer, message.id, message.seq, now),
                    UnreadCount(conversation_id, viewer, unread),
                )
            outcome = ReadOutcome(unread_count=unread, last_read_seq=me.last_read_seq)
        return outcome

    async def mark_delivered(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> int:
        async with self._db.write() as session:
            access = await access_conversation(session, viewer, conversation_id, lock=True)
            message = await self._cursor_or_404(session, conversation_id, message_id)
            me = access.me
            if message.seq > me.last_delivered_seq:
                me.last_delivered_seq = message.seq
                me.updated_at = utcnow()
                emit(
                    session,
                    MessagesDelivered(conversation_id, viewer, message.id, message.seq),
                )
            delivered = me.last_delivered_seq
        return delivered

    async def _cursor_or_404(
        self, session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> Message:
        message = await _message_in(session, conversation_id, message_id)
        if message is None:
            raise message_not_found()
        return message


async def _message_in(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Message | None:
    """The message with this id, if it belongs to this conversation."""
    return await session.scalar(
        select(Message)
        .where(Message.id == message_id)
        .where(Message.conversation_id == conversation_id)
    )


# Conversations whose changes one resume query fetches (SQLite parses an OR of N terms
# N levels deep, and stops at 1,000).
SYNC_CONVERSATIONS_PER_QUERY = 50


async def _changes_of_many(
    session: AsyncSession, wanted: list[tuple[uuid.UUID, int, int]], *, limit: int
) -> list[Message]:
    """The changes numbered in (since, upto] of each (conversation, since, upto), at most
    `limit + 1` per conversation, in number order: one query, each range served by the
    (conversation_id, change_seq) index."""
    in_range = or_(
        *(
            and_(
                Message.conversation_id == cid,
                Message.change_seq > since,
                Message.change_seq <= upto,
            )
            for cid, since, upto in wanted
        )
    )
    ranked = (
        select(
            Message,
            func.row_number()
            .over(partition_by=Message.conversation_id, order_by=Message.change_seq)
            .label("rank"),
        )
        .where(in_range)
        .subquery()
    )
    change = aliased(Message, ranked)
    rows = await session.scalars(
        select(change)
        .where(ranked.c.rank <= limit + 1)
        .order_by(ranked.c.conversation_id, ranked.c.change_seq)
    )
    return list(rows.all())


async def _page(
    session: AsyncSession,
    *conditions: ColumnElement[bool],
    limit: int,
    desc: bool = False,
    order: InstrumentedAttribute[int] | None = None,
) -> tuple[list[Message], bool]:
    """Up to `limit` messages in number order, and whether more exist beyond them."""
    if limit <= 0:
        return [], False
    column = order if order is not None else Message.seq
    rows: Sequence[Message] = (
        await session.scalars(
            select(Message)
            .where(*conditions)
            .order_by(column.desc() if desc else column.asc())
            .limit(limit + 1)
        )
    ).all()
    return list(rows[:limit]), len(rows) > limit


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

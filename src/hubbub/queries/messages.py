"""Reading messages: history, one message, threads, changes and resume.

Edge -> here -> the store (`hubbub.store.access`, `hubbub.store.messages_read`) and the
view loaders (`hubbub.queries.views`). Every read checks access first: a conversation
the caller is not in is a 404, whatever else is asked. Pages are cut by numbers, never
by offsets; a change's number (`change_seq`) is what a resuming client asks after
(docs/socket-protocol.md, "Resume").
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.queries.history import history_page, invalid_cursor
from hubbub.queries.views import Views
from hubbub.store.access import (
    ConversationAccess,
    access_conversation,
    access_conversations_of,
    access_message,
)
from hubbub.store.database import Database
from hubbub.store.messages_read import (
    changes_of_many_txn,
    changes_page_txn,
    message_in_txn,
    thread_page_txn,
)
from hubbub.store.models import Message
from hubbub.tracing import NoTracing, Tracing
from hubbub.wire.models import ChangesPage, MessagePage, MessagePublic, ThreadPage


class MessageQueries:
    def __init__(self, db: Database, views: Views, tracing: Tracing | None = None) -> None:
        self._db = db
        self._views = views
        self._tracing: Tracing = tracing if tracing is not None else NoTracing()

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
        return await history_page(
            self._db,
            self._views.urls,
            viewer,
            conversation_id,
            limit=limit,
            before=before,
            after=after,
            around=around,
        )

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
            after_seq: int | None = None
            if after is not None:
                cursor = await _cursor(session, conversation_id, after)
                if cursor.thread_id != root_id:
                    raise invalid_cursor()
                after_seq = cursor.seq
            rows, has_more = await thread_page_txn(
                session, conversation_id, root_id, after_seq, limit=limit
            )
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
        rows, has_more = await changes_page_txn(
            session, access.conversation.id, since, upto, limit=limit
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
        with self._tracing.span("hubbub.sync", conversations=len(known)):
            return await self._sync(viewer, known, limit=limit)

    async def _sync(
        self, viewer: uuid.UUID, known: dict[uuid.UUID, int], *, limit: int
    ) -> tuple[dict[uuid.UUID, ChangesPage], list[uuid.UUID]]:
        """Resume (docs/socket-protocol.md): per known conversation, the changes after the client's
        number; conversations the viewer is no longer in come back as `removed`.

        A reconnect storm is many of these at once, so the work is shared: one access
        query for every conversation, nothing more for one without changes, one query
        for the pages of up to `SYNC_CONVERSATIONS_PER_QUERY` others
        (`hubbub.store.messages_read`), and one set of view queries for all their rows.
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
            found = await changes_of_many_txn(session, wanted, limit=limit)
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


async def _cursor(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Message:
    cursor = await message_in_txn(session, conversation_id, message_id)
    if cursor is None:
        raise invalid_cursor()
    return cursor

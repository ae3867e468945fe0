"""Reading messages: history, one message, threads, changes and resume.

Edge -> here -> the store (`hubbub.store.access`, `hubbub.store.messages_read`) and the
view loaders (`hubbub.queries.views`); history, changes and resume read rows on the
driver (`hubbub.queries.history`, `hubbub.queries.changes`). Every read checks access
first: a conversation the caller is not in is a 404, whatever else is asked. Pages are
cut by numbers, never by offsets; a change's number (`change_seq`) is what a resuming
client asks after (docs/socket-protocol.md, "Resume").
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.queries.changes import changes_page, sync_pages
from hubbub.queries.history import history_page, invalid_cursor
from hubbub.queries.views import Views
from hubbub.store.access import access_message
from hubbub.store.database import Database
from hubbub.store.messages_read import message_in_txn, thread_page_txn
from hubbub.store.models import Message
from hubbub.tracing import NoTracing, Tracing
from hubbub.wire.message_json import EncodedChangesPage, EncodedMessagePage
from hubbub.wire.models import MessagePublic, ThreadPage


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
    ) -> EncodedMessagePage:
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
    ) -> EncodedChangesPage:
        return await changes_page(
            self._db, self._views.urls, viewer, conversation_id, since=since, limit=limit
        )

    async def sync(
        self, viewer: uuid.UUID, known: dict[uuid.UUID, int], *, limit: int
    ) -> tuple[dict[uuid.UUID, EncodedChangesPage], list[uuid.UUID]]:
        """Resume (docs/socket-protocol.md): per known conversation, the changes after the
        client's number; conversations the viewer is no longer in come back as `removed`."""
        with self._tracing.span("hubbub.sync", conversations=len(known)):
            return await sync_pages(self._db, self._views.urls, viewer, known, limit=limit)


async def _cursor(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Message:
    cursor = await message_in_txn(session, conversation_id, message_id)
    if cursor is None:
        raise invalid_cursor()
    return cursor

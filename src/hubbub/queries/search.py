"""Searching messages: every word of a query, in one conversation or in all of the
caller's, newest first.

Edge -> here -> the store (`hubbub.store.dialect.fts_condition` for the full-text match,
`hubbub.store.messages_read.search_txn`) and the view loaders (`hubbub.queries.views`).
On SQLite new messages reach the full-text index in bulk, after their send; a search
first indexes whatever is still waiting, so it finds every message committed before it.
"""

from __future__ import annotations

import uuid

from hubbub.queries.history import invalid_cursor
from hubbub.queries.views import Views
from hubbub.store.access import access_conversation
from hubbub.store.database import Database
from hubbub.store.dialect import fts_condition
from hubbub.store.messages_read import is_visible_txn, message_by_id_txn, search_txn
from hubbub.wire.models import SearchPage


class SearchQueries:
    def __init__(self, db: Database, views: Views) -> None:
        self._db = db
        self._views = views

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
            if match is None:
                return SearchPage(messages=[], has_more=False)
            cursor = None
            if before is not None:
                cursor = await message_by_id_txn(session, before)
                if cursor is None or not await is_visible_txn(session, viewer, cursor):
                    raise invalid_cursor()
            page, has_more = await search_txn(
                session,
                viewer,
                match,
                conversation_id=conversation_id,
                before=cursor,
                limit=limit,
            )
            return SearchPage(
                messages=await self._views.messages(session, page, viewer), has_more=has_more
            )

"""GET /mentions: where the caller was mentioned, newest first, paged by an opaque
cursor, only from the conversations it is in now."""

from __future__ import annotations

import uuid

from hubbub.queries.conversations import make_cursor, read_cursor
from hubbub.queries.views import Views
from hubbub.store.database import Database
from hubbub.store.mentions import mentions_page_txn
from hubbub.wire.models import MentionItem, MentionPage


class MentionQueries:
    def __init__(self, db: Database, views: Views) -> None:
        self._db = db
        self._views = views

    async def page(self, viewer: uuid.UUID, *, limit: int, cursor: str | None) -> MentionPage:
        """A page of the feed; `cursor` is a page's `nextCursor` (else 400 invalid_cursor)."""
        after = read_cursor(cursor) if cursor is not None else None
        async with self._db.read() as session:
            rows, more = await mentions_page_txn(session, viewer, limit=limit, after=after)
            views = await self._views.messages(session, [m for m, _ in rows], viewer)
        items = [
            MentionItem(message=view, conversation_id=m.conversation_id, conversation_name=name)
            for (m, name), view in zip(rows, views, strict=True)
        ]
        last = rows[-1][0] if more else None
        return MentionPage(
            mentions=items,
            next_cursor=None if last is None else make_cursor(last.created_at, last.id),
        )

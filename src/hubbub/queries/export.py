"""Reading a user's own data for their export: profile, messages, files.

Actions (`hubbub.actions.export`, the background job) -> here -> the store. Messages
come in pages, so an export of any size holds one page in memory at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from hubbub.domain.account_rules import user_not_found
from hubbub.queries.users import me_public
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.export import files_of_txn, messages_of_txn
from hubbub.store.models import User
from hubbub.wire.account import ExportedFile, ExportedMessage
from hubbub.wire.models import Me

PAGE = 1000


class ExportQueries:
    def __init__(self, db: Database, urls: FileUrlSigner) -> None:
        self._db = db
        self._urls = urls

    async def profile(self, user_id: uuid.UUID) -> Me:
        async with self._db.read() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise user_not_found()
        return me_public(user, online=False, urls=self._urls)

    async def messages(self, user_id: uuid.UUID) -> AsyncIterator[list[ExportedMessage]]:
        after: uuid.UUID | None = None
        while True:
            async with self._db.read() as session:
                rows = await messages_of_txn(session, user_id, after, PAGE)
            if not rows:
                return
            yield [
                ExportedMessage(
                    id=row.id,
                    conversation_id=row.conversation_id,
                    conversation_name=row.name,
                    conversation_type=str(row.conversation_type),
                    type=str(row.type),
                    content=row.content,
                    seq=row.seq,
                    parent_message_id=row.parent_message_id,
                    created_at=row.created_at,
                    edited_at=row.edited_at,
                )
                for row in rows
            ]
            after = rows[-1].id

    async def files(self, user_id: uuid.UUID) -> list[ExportedFile]:
        async with self._db.read() as session:
            stored = await files_of_txn(session, user_id)
        return [
            ExportedFile(
                id=f.id,
                filename=f.filename,
                size=f.size,
                mime_type=f.mime_type,
                kind=str(f.kind),
                created_at=f.created_at,
                url=self._urls.url(f.id, f.filename),
            )
            for f in stored
        ]

"""The `files` table's questions beyond one row: is a file in use, and where.

A signed URL names one file and nobody in particular, so its download asks here whether
the file is still in use (`hubbub.queries.files`); `hubbub.domain.rules` decides.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.models import Conversation, Message, MessageFile, Space, StoredFile, User


@dataclass(frozen=True)
class FileUse:
    carried: bool  # some message carries or carried it (a deleted message keeps the link)
    carried_live: bool  # a message that is not deleted carries it
    current_avatar: bool  # it is a user's, a conversation's or a space's avatar now


async def file_use_txn(session: AsyncSession, stored: StoredFile) -> FileUse:
    """One statement of three EXISTS, each on an index (message_files by file, users by
    id, conversations and spaces by avatar)."""
    links = select(MessageFile.file_id).where(MessageFile.file_id == stored.id)
    live = links.join(Message, Message.id == MessageFile.message_id).where(
        Message.deleted_at.is_(None)
    )
    avatar = (
        exists(select(User.id).where(User.id == stored.owner_id, User.avatar_file_id == stored.id))
        | exists(select(Conversation.id).where(Conversation.avatar_file_id == stored.id))
        | exists(select(Space.id).where(Space.avatar_file_id == stored.id))
    )
    row = (await session.execute(select(exists(links), exists(live), avatar))).one()
    return FileUse(carried=bool(row[0]), carried_live=bool(row[1]), current_avatar=bool(row[2]))


async def file_by_id_txn(session: AsyncSession, file_id: uuid.UUID) -> StoredFile | None:
    return await session.get(StoredFile, file_id)

"""Writes to messages through a session: attachments and thread replies of a send, edits,
deletes and reactions.

Actions (`hubbub.actions.send_alone`, `hubbub.actions.message_changes`) -> here, inside
their `Database.write()` block; they decide (rules, events), these functions write. Every
change takes the conversation's next number (`hubbub.store.sequence.take_seq`), so a
client resuming from a number sees it. New messages themselves are numbered and added by
`hubbub.store.sequence.insert_message_txn` (one at a time) and
`hubbub.store.send_batch_txn` (the group commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import FileKind, MessageStatus
from hubbub.domain.ids import new_id, utcnow
from hubbub.store.models import Message, MessageFile, Reaction, StoredFile
from hubbub.store.sequence import take_seq


async def owned_attachments_txn(
    session: AsyncSession, owner: uuid.UUID, file_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StoredFile]:
    """The message attachments among `file_ids` that `owner` uploaded, by id."""
    return {
        f.id: f
        for f in (
            await session.scalars(
                select(StoredFile)
                .where(StoredFile.id.in_(file_ids))
                .where(StoredFile.owner_id == owner)
                .where(StoredFile.kind == FileKind.MESSAGE_ATTACHMENT)
            )
        ).all()
    }


def attach_files_txn(
    session: AsyncSession, message_id: uuid.UUID, file_ids: Sequence[uuid.UUID]
) -> None:
    """Link the files to a new message, in order (written at the next flush)."""
    for position, file_id in enumerate(file_ids):
        session.add(MessageFile(message_id=message_id, file_id=file_id, position=position))


async def count_reply_txn(
    session: AsyncSession, conversation_id: uuid.UUID, root: Message, now: datetime
) -> None:
    """A new reply in `root`'s thread: one more reply, and a change of the root."""
    root.reply_count += 1
    root.change_seq = await take_seq(session, conversation_id)
    root.updated_at = now
    await session.flush()


async def has_attachments_txn(session: AsyncSession, message_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(MessageFile.file_id).where(MessageFile.message_id == message_id).limit(1)
    )
    return found is not None


async def edit_message_txn(
    session: AsyncSession, conversation_id: uuid.UUID, message: Message, text: str
) -> None:
    now = utcnow()
    message.content = text
    message.edited_at = now
    message.updated_at = now
    message.change_seq = await take_seq(session, conversation_id)
    await session.flush()


async def delete_message_txn(
    session: AsyncSession, conversation_id: uuid.UUID, message: Message
) -> Message | None:
    """Delete a message (its row stays, emptied, as a tombstone) and its reactions; the
    root of its thread, if any, counts one reply fewer and is returned. Its files' links
    stay, so that a signed URL of a file whose every carrier is deleted is refused
    (`hubbub.store.files`); a deleted message shows no attachments."""
    now = utcnow()
    message.status = MessageStatus.DELETED
    message.content = ""
    message.deleted_at = now
    message.updated_at = now
    message.change_seq = await take_seq(session, conversation_id, count_delta=-1)
    await session.execute(delete(Reaction).where(Reaction.message_id == message.id))
    root = await session.get(Message, message.thread_id) if message.thread_id else None
    if root is not None:
        root.reply_count = max(0, root.reply_count - 1)
        root.change_seq = await take_seq(session, conversation_id)
        root.updated_at = now
    await session.flush()
    return root


async def user_reactions_txn(
    session: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID
) -> set[str]:
    """The emoji `user_id` has put on the message."""
    rows = await session.scalars(
        select(Reaction.emoji)
        .where(Reaction.message_id == message_id)
        .where(Reaction.user_id == user_id)
    )
    return set(rows)


async def set_reaction_txn(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    message: Message,
    user_id: uuid.UUID,
    emoji: str,
    *,
    add: bool,
) -> bool:
    """Add or remove one user's reaction; whether that changed anything (adding one twice
    or removing one that is not there does not, and takes no number)."""
    existing = await session.scalar(
        select(Reaction)
        .where(Reaction.message_id == message.id)
        .where(Reaction.user_id == user_id)
        .where(Reaction.emoji == emoji)
    )
    changed = (existing is None) if add else (existing is not None)
    if changed:
        if add:
            session.add(Reaction(id=new_id(), message_id=message.id, user_id=user_id, emoji=emoji))
        else:
            await session.delete(existing)
        message.change_seq = await take_seq(session, conversation_id)
        message.updated_at = utcnow()
        await session.flush()
    return changed

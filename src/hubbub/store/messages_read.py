"""Reads of messages: one by id, pages of history, threads and changes, resume, search,
and what a page's views need (senders, attachments, reactions).

Queries (`hubbub.queries.messages`, `hubbub.queries.search`, `hubbub.queries.views`) and
actions -> here, inside their session. Every page is served by an index: (conversation_id,
seq) for history, (thread_id, seq) for threads, (conversation_id, change_seq) for changes
(docs/data-model.md, Growth; `tests/test_query_plans.py` EXPLAINs them). A page asks for one row
more than it returns, to tell whether more exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Message, MessageFile, Participant, Reaction, StoredFile, User


async def message_in_txn(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Message | None:
    """The message with this id, if it belongs to this conversation."""
    return await session.scalar(
        select(Message)
        .where(Message.id == message_id)
        .where(Message.conversation_id == conversation_id)
    )


async def message_by_id_txn(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await session.get(Message, message_id)


async def messages_by_ids_txn(
    session: AsyncSession, message_ids: Collection[uuid.UUID]
) -> list[Message]:
    if not message_ids:
        return []
    return list((await session.scalars(select(Message).where(Message.id.in_(message_ids)))).all())


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


async def thread_page_txn(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    root_id: uuid.UUID,
    after_seq: int | None,
    *,
    limit: int,
) -> tuple[list[Message], bool]:
    """Up to `limit` replies in `root_id`'s thread, numbered above `after_seq`, oldest first."""
    conditions = [Message.thread_id == root_id, Message.conversation_id == conversation_id]
    if after_seq is not None:
        conditions.append(Message.seq > after_seq)
    return await _page(session, *conditions, limit=limit)


async def is_visible_txn(session: AsyncSession, viewer: uuid.UUID, message: Message) -> bool:
    """Whether the viewer is an ACTIVE participant of the message's conversation."""
    found = await session.scalar(
        select(Participant.id)
        .where(Participant.conversation_id == message.conversation_id)
        .where(Participant.user_id == viewer)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    return found is not None


async def search_txn(
    session: AsyncSession,
    viewer: uuid.UUID,
    match: ColumnElement[bool],
    *,
    conversation_id: uuid.UUID | None,
    before: Message | None,
    limit: int,
) -> tuple[list[Message], bool]:
    """Live messages matching `match` (`hubbub.store.dialect.fts_condition`) in one
    conversation, or in every conversation the viewer is ACTIVE in; newest first, from
    just before the message `before`."""
    if conversation_id is not None:
        scope = Message.conversation_id == conversation_id
    else:
        scope = Message.conversation_id.in_(
            select(Participant.conversation_id)
            .where(Participant.user_id == viewer)
            .where(Participant.status == ParticipantStatus.ACTIVE)
        )
    conditions = [scope, match, Message.deleted_at.is_(None)]
    if before is not None:
        conditions.append(
            or_(
                Message.created_at < before.created_at,
                and_(Message.created_at == before.created_at, Message.id < before.id),
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
    return list(rows[:limit]), len(rows) > limit


# What a page of message views needs, one query per kind -----------------------------


async def senders_txn(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, User]:
    return {
        u.id: u for u in (await session.scalars(select(User).where(User.id.in_(user_ids)))).all()
    }


async def attachments_txn(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> Sequence[tuple[uuid.UUID, StoredFile]]:
    """(message id, file) of the messages' attachments, by message, in order."""
    rows = await session.execute(
        select(MessageFile.message_id, StoredFile)
        .join(StoredFile, StoredFile.id == MessageFile.file_id)
        .where(MessageFile.message_id.in_(message_ids))
        .order_by(MessageFile.message_id, MessageFile.position)
    )
    return rows.all()


async def reactions_txn(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> Sequence[tuple[uuid.UUID, str, uuid.UUID]]:
    """(message id, emoji, user id) of the messages' reactions, oldest first."""
    if not message_ids:
        return []
    rows = await session.execute(
        select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
        .where(Reaction.message_id.in_(message_ids))
        .order_by(Reaction.created_at, Reaction.id)
    )
    return rows.all()

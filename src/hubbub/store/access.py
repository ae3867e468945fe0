"""Who may see what: the only place that hands a conversation to a user.

Every action or query that touches a conversation, a message, a space or a file goes
through one of the `access_*` functions below, inside its own transaction, against the
database state (never against what the client says about itself). A conversation the
caller is not an ACTIVE participant of does not exist for them: NotFound, never
Forbidden. What the caller may then do with it is decided by the pure rules of
`hubbub.domain.rules`, on the rows loaded here.

The functions keep their `access_*` names (rather than `*_txn`, though each takes the
caller's session or transaction): the message paths call them by these names.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

from sqlalchemy import String, Table, exists, literal, null, select, union_all
from sqlalchemy import cast as cast_
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import ParticipantStatus
from hubbub.domain.file_rules import file_not_found, file_open_to
from hubbub.domain.rules import (
    conversation_not_found,
    message_not_found,
    space_not_found,
)
from hubbub.store.dialect import among_pairs, pair_values
from hubbub.store.models import (
    Conversation,
    Message,
    MessageFile,
    Participant,
    Space,
    SpaceMember,
    StoredFile,
    User,
)
from hubbub.store.prepared import Prepared, Statements
from hubbub.wire.models import (
    SenderPublic,
)


@dataclass(frozen=True)
class ConversationAccess:
    conversation: Conversation
    me: Participant


async def access_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, *, lock: bool = False
) -> ConversationAccess:
    """The conversation and the caller's participant row, if the caller is ACTIVE in it.

    `lock=True` takes the participant row FOR UPDATE (marker moves, settings).
    """
    query = (
        select(Participant, Conversation)
        .join(Conversation, Conversation.id == Participant.conversation_id)
        .where(Participant.conversation_id == conversation_id)
        .where(Participant.user_id == user_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    if lock:
        query = query.with_for_update(of=Participant)
    row = (await session.execute(query)).first()
    if row is None:
        raise conversation_not_found()
    return ConversationAccess(conversation=row.Conversation, me=row.Participant)


@dataclass(frozen=True)
class SenderAccess:
    """What a send needs of its sender in a conversation, for the group commit of sends:
    may they send, the conversation's last number (read under its lock), and who they
    are as the message's `sender`."""

    can_send: bool
    last_seq: int
    sender: SenderPublic  # without its avatar, whose URL is signed by who presents it
    avatar_file_id: uuid.UUID | None


_PARTICIPANTS = cast(Table, Participant.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_USERS = cast(Table, User.__table__)

_MESSAGES = cast(Table, Message.__table__)

# Built once, on the tables, for the group commit (run on the driver: `hubbub.store.prepared`):
# the senders' access rows ('a') and the messages already stored under the batch's
# (sender, optimisticId) keys ('o'), in one statement (on PostgreSQL every statement is a
# round trip of ~0.2 ms of CPU and a turn of the event loop).
_SENDERS_AND_ORIGINALS = Prepared(
    union_all(
        select(
            literal("a", String),
            _PARTICIPANTS.c.user_id,
            _PARTICIPANTS.c.conversation_id,
            _PARTICIPANTS.c.can_send_messages,
            _CONVERSATIONS.c.last_seq,
            _USERS.c.username,
            _USERS.c.display_name,
            _USERS.c.avatar_file_id,
            _USERS.c.is_bot,
            cast_(null(), _MESSAGES.c.id.type),
            cast_(null(), _MESSAGES.c.optimistic_id.type),
        )
        .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _PARTICIPANTS.c.conversation_id)
        .join(_USERS, _USERS.c.id == _PARTICIPANTS.c.user_id)
        .where(among_pairs(_PARTICIPANTS.c.user_id, _PARTICIPANTS.c.conversation_id, "senders"))
        .where(_PARTICIPANTS.c.status == ParticipantStatus.ACTIVE)
        # A deactivated account sends nothing, whatever socket it still holds.
        .where(_USERS.c.is_active),
        select(
            literal("o", String),
            _MESSAGES.c.sender_id,
            _MESSAGES.c.conversation_id,
            cast_(null(), _PARTICIPANTS.c.can_send_messages.type),
            cast_(null(), _CONVERSATIONS.c.last_seq.type),
            cast_(null(), _USERS.c.username.type),
            cast_(null(), _USERS.c.display_name.type),
            cast_(null(), _USERS.c.avatar_file_id.type),
            cast_(null(), _USERS.c.is_bot.type),
            _MESSAGES.c.id,
            _MESSAGES.c.optimistic_id,
        ).where(among_pairs(_MESSAGES.c.sender_id, _MESSAGES.c.optimistic_id, "keys")),
    )
)

# (sender, optimisticId) -> (message id, conversation id) of a stored message.
StoredKeys = dict[tuple[uuid.UUID, str], tuple[uuid.UUID, uuid.UUID]]


async def access_for_sending(
    tx: Statements,
    pairs: Collection[tuple[uuid.UUID, uuid.UUID]],
    keys: Collection[tuple[uuid.UUID, str]] = (),
) -> tuple[dict[tuple[uuid.UUID, uuid.UUID], SenderAccess], StoredKeys]:
    """For many (user, conversation) pairs in one query: the pairs whose user is ACTIVE
    in the conversation (a pair missing from the answer is NotFound for that user); and,
    in the same query, the messages already stored under the (sender, optimisticId)
    `keys` (the group commit's idempotency check, asked here to save a round trip).

    Runs in the group commit, on the driver (`hubbub.store.prepared`), and in the
    one-send path's session. On SQLite it runs inside the batch's write transaction,
    which holds the database, so `last_seq` stays the conversation's last number until
    it commits; on PostgreSQL the numbers are taken by the statement that stores the
    batch (`hubbub.store.send_batch_txn.store_new_messages_txn`).
    """
    found: dict[tuple[uuid.UUID, uuid.UUID], SenderAccess] = {}
    stored: StoredKeys = {}
    if not pairs:
        return found, stored
    values = pair_values(pairs, "senders") | pair_values(keys, "keys")
    for (
        kind,
        user_id,
        conversation_id,
        can_send,
        last_seq,
        username,
        display_name,
        avatar_file_id,
        is_bot,
        message_id,
        optimistic_id,
    ) in await tx.rows(_SENDERS_AND_ORIGINALS, values):
        if kind == "o":
            stored[(user_id, str(optimistic_id))] = (message_id, conversation_id)
            continue
        found[(user_id, conversation_id)] = SenderAccess(
            can_send=can_send,
            last_seq=last_seq,
            sender=SenderPublic.model_validate(
                {
                    "id": user_id,
                    "username": username,
                    "display_name": display_name,
                    "avatar": None,
                    "is_bot": is_bot,
                }
            ),
            avatar_file_id=avatar_file_id,
        )
    return found, stored


async def access_message(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    lock_message: bool = False,
) -> tuple[ConversationAccess, Message]:
    """A message of a conversation the caller is ACTIVE in (deleted messages included)."""
    access = await access_conversation(session, user_id, conversation_id)
    query = (
        select(Message)
        .where(Message.id == message_id)
        .where(Message.conversation_id == conversation_id)
    )
    if lock_message:
        query = query.with_for_update()
    message = await session.scalar(query)
    if message is None:
        raise message_not_found()
    return access, message


async def access_space(
    session: AsyncSession, user_id: uuid.UUID, space_id: uuid.UUID
) -> tuple[Space, SpaceMember]:
    row = (
        await session.execute(
            select(Space, SpaceMember)
            .join(SpaceMember, SpaceMember.space_id == Space.id)
            .where(Space.id == space_id)
            .where(SpaceMember.user_id == user_id)
        )
    ).first()
    if row is None:
        raise space_not_found()
    return row.Space, row.SpaceMember


async def access_file(session: AsyncSession, user_id: uuid.UUID, file_id: uuid.UUID) -> StoredFile:
    """A file the caller uploaded, or one carried by a message of a conversation they are in."""
    stored = await session.get(StoredFile, file_id)
    if stored is None:
        raise file_not_found()
    if file_open_to(stored, user_id):
        return stored
    carried_where_caller_is = exists(
        select(MessageFile.file_id)
        .join(Message, Message.id == MessageFile.message_id)
        .join(Participant, Participant.conversation_id == Message.conversation_id)
        .where(MessageFile.file_id == file_id)
        .where(Message.deleted_at.is_(None))
        .where(Participant.user_id == user_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    if not await session.scalar(select(carried_where_caller_is)):
        raise file_not_found()
    return stored

"""Who may see or change what: the only place that hands a conversation to a user.

Every service call that touches a conversation, a message, a space or a file goes
through one of the `access_*` functions below, inside its own transaction, against the
database state (never against what the client says about itself). A conversation the
caller is not an ACTIVE participant of does not exist for them: NotFound, never
Forbidden. Permission checks for participants (`require_*`) come after access and say
Forbidden, because the caller already knows the conversation exists.

One condition per line, so each can be read and tested on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

from sqlalchemy import String, Table, exists, literal, null, select, union_all
from sqlalchemy import cast as cast_
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.domain.enums import (
    ConversationType,
    FileKind,
    MessageStatus,
    MessageType,
    ParticipantStatus,
    Role,
)
from hubbub.domain.errors import Forbidden, NotFound
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
from hubbub.wire.models import SenderPublic

ROLE_RANK = {Role.OWNER: 4, Role.ADMIN: 3, Role.MODERATOR: 2, Role.MEMBER: 1}


def conversation_not_found() -> NotFound:
    return NotFound("Conversation not found", code="conversation_not_found")


def message_not_found() -> NotFound:
    return NotFound("Message not found", code="message_not_found")


def space_not_found() -> NotFound:
    return NotFound("Space not found", code="space_not_found")


def file_not_found() -> NotFound:
    return NotFound("File not found", code="file_not_found")


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


async def access_conversations_of(
    session: AsyncSession, user_id: uuid.UUID, conversation_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ConversationAccess]:
    """`access_conversation` for many conversations of one user, in one query: the ones
    the user is ACTIVE in (a conversation missing from the answer is NotFound)."""
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(Participant, Conversation)
        .join(Conversation, Conversation.id == Participant.conversation_id)
        .where(Participant.conversation_id.in_(conversation_ids))
        .where(Participant.user_id == user_id)
        .where(Participant.status == ParticipantStatus.ACTIVE)
    )
    return {
        row.Conversation.id: ConversationAccess(conversation=row.Conversation, me=row.Participant)
        for row in rows.all()
    }


@dataclass(frozen=True)
class SenderAccess:
    """What a send needs of its sender in a conversation, for the group commit of sends:
    may they send, the conversation's last number (read under its lock), and who they
    are as the message's `sender`."""

    can_send: bool
    last_seq: int
    sender: SenderPublic


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
            _USERS.c.avatar,
            cast_(null(), _MESSAGES.c.id.type),
            cast_(null(), _MESSAGES.c.optimistic_id.type),
        )
        .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _PARTICIPANTS.c.conversation_id)
        .join(_USERS, _USERS.c.id == _PARTICIPANTS.c.user_id)
        .where(among_pairs(_PARTICIPANTS.c.user_id, _PARTICIPANTS.c.conversation_id, "senders"))
        .where(_PARTICIPANTS.c.status == ParticipantStatus.ACTIVE),
        select(
            literal("o", String),
            _MESSAGES.c.sender_id,
            _MESSAGES.c.conversation_id,
            cast_(null(), _PARTICIPANTS.c.can_send_messages.type),
            cast_(null(), _CONVERSATIONS.c.last_seq.type),
            cast_(null(), _USERS.c.username.type),
            cast_(null(), _USERS.c.display_name.type),
            cast_(null(), _USERS.c.avatar.type),
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
        avatar,
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
                    "avatar": avatar,
                }
            ),
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
    if stored.owner_id == user_id:
        return stored
    if stored.kind == FileKind.AVATAR:
        return stored  # avatars are public to every signed-in user
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


# Permissions of a participant (the caller already has access) -------------------------


def outranks(actor: Role, target: Role) -> bool:
    return ROLE_RANK[actor] > ROLE_RANK[target]


def require_can_send(access: ConversationAccess) -> None:
    if not access.me.can_send_messages:
        raise cannot_send()


def require_sender_can_send(access: SenderAccess) -> None:
    if not access.can_send:
        raise cannot_send()


def cannot_send() -> Forbidden:
    return Forbidden("You cannot send messages in this conversation")


def require_can_attach(access: ConversationAccess) -> None:
    if not access.me.can_upload_files:
        raise Forbidden("You cannot send files in this conversation")


def require_not_private(access: ConversationAccess) -> None:
    if access.conversation.type == ConversationType.PRIVATE:
        raise Forbidden("Private conversations cannot be changed this way")


def require_group(access: ConversationAccess) -> None:
    if access.conversation.type != ConversationType.GROUP:
        raise Forbidden("Only group conversations change members this way")


def require_admin(access: ConversationAccess) -> None:
    if access.me.role not in (Role.OWNER, Role.ADMIN):
        raise Forbidden("Only the owner or an admin can do this")


def require_can_add_members(access: ConversationAccess) -> None:
    if access.me.role in (Role.OWNER, Role.ADMIN):
        return
    if not access.me.can_add_members:
        raise Forbidden("You cannot add members to this conversation")


def require_can_grant_role(access: ConversationAccess, role: Role) -> None:
    """Roles given (on add or change) must be below the giver's own; OWNER is never given."""
    if role == Role.OWNER:
        raise Forbidden("Ownership cannot be given this way")
    if access.me.role == Role.OWNER:
        return
    if access.me.role == Role.ADMIN and ROLE_RANK[role] <= ROLE_RANK[Role.MODERATOR]:
        return
    if role == Role.MEMBER and access.me.can_add_members:
        return
    raise Forbidden("You cannot give that role")


def require_can_manage(access: ConversationAccess, target: Participant) -> None:
    """Change another participant's role or permissions: OWNER/ADMIN, of a lower role."""
    if target.user_id == access.me.user_id:
        raise Forbidden("You cannot change your own role or permissions")
    require_admin(access)
    if not outranks(access.me.role, target.role):
        raise Forbidden("You can only manage participants below your role")


def require_can_remove(access: ConversationAccess, target: Participant) -> None:
    """Remove another participant: OWNER/ADMIN or canRemoveMembers, of a lower role."""
    if access.me.role not in (Role.OWNER, Role.ADMIN) and not access.me.can_remove_members:
        raise Forbidden("You cannot remove members from this conversation")
    if not outranks(access.me.role, target.role):
        raise Forbidden("You can only remove participants below your role")


def require_can_edit(access: ConversationAccess, message: Message) -> None:
    if message.sender_id != access.me.user_id:
        raise Forbidden("Only the sender can edit a message")
    if message.type == MessageType.SYSTEM:
        raise Forbidden("System messages cannot be edited")


def require_can_delete(access: ConversationAccess, message: Message) -> None:
    if message.type == MessageType.SYSTEM:
        raise Forbidden("System messages cannot be deleted")
    if message.sender_id == access.me.user_id:
        return
    if ROLE_RANK[access.me.role] >= ROLE_RANK[Role.MODERATOR]:
        return
    raise Forbidden("Only the sender or a moderator can delete a message")


def require_not_deleted(message: Message) -> None:
    if message.status == MessageStatus.DELETED:
        raise message_not_found()


def require_space_admin(member: SpaceMember) -> None:
    if member.role not in (Role.OWNER, Role.ADMIN):
        raise Forbidden("Only the space owner or an admin can do this")

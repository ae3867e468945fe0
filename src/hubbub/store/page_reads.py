"""History pages on the driver: the page, its senders, reactions and attachments as
rows, from statements compiled once (`hubbub.store.prepared`).

`hubbub.queries.history` -> here -> the database driver. A history page is the most
frequent read (docs/guarantees.md, Performance: 1,000 pages/s), and through the ORM
most of its time was SQLAlchemy's (entities loaded, statements built and their cache
keys computed per request), not the database's: the page itself is an index range on
(conversation_id, seq). Here each statement is built once, runs on the read engine's
driver connection and returns plain rows, the way the group commit writes.

A page is a run of consecutive numbers of one conversation, so what its views need is
asked by that range, never by a list of ids: every statement has one shape whatever
the page holds (and so is compiled once), and each is served by an index
(`tests/test_query_plans.py` EXPLAINs them on PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, Select, Table, bindparam, func, select

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import (
    Conversation,
    Message,
    MessageFile,
    Participant,
    Reaction,
    StoredFile,
    User,
)
from hubbub.store.prepared import (
    Prepared,
    RawBatch,
)

_M = cast(Table, Message.__table__)
_U = cast(Table, User.__table__)
_P = cast(Table, Participant.__table__)
_C = cast(Table, Conversation.__table__)
_R = cast(Table, Reaction.__table__)
_F = cast(Table, StoredFile.__table__)
_MF = cast(Table, MessageFile.__table__)

# The columns of a page's row, in this order (`hubbub.queries.history` reads them so):
# the message's, then its sender's (null when the sender's row is gone).
MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "sender_id",
    "type",
    "content",
    "seq",
    "change_seq",
    "parent_message_id",
    "thread_id",
    "reply_count",
    "metadata",
    "mentions",
    "client_timestamp",
    "server_timestamp",
    "created_at",
    "updated_at",
    "edited_at",
    "deleted_at",
    "optimistic_id",
)
SENDER_COLUMNS = (
    "sender_username",
    "sender_display_name",
    "sender_avatar_file_id",
    "sender_is_bot",
)

# Beyond any message number: "before the newest" is "below this".
_NO_BOUND = 2**62


def _access() -> Prepared:
    """The caller's access (a row only when ACTIVE in the conversation) with the
    conversation's message count, and the number of the cursor message when it is in
    this conversation (null otherwise, or without a cursor)."""
    cursor_seq = (
        select(_M.c.seq)
        .where(_M.c.id == bindparam("cursor", type_=_M.c.id.type))
        .where(_M.c.conversation_id == _C.c.id)
        .scalar_subquery()
    )
    return Prepared(
        select(_C.c.message_count, cursor_seq.label("cursor_seq"))
        .select_from(_P.join(_C, _C.c.id == _P.c.conversation_id))
        .where(_P.c.conversation_id == bindparam("conversation_id", type_=_P.c.id.type))
        .where(_P.c.user_id == bindparam("viewer", type_=_P.c.id.type))
        .where(_P.c.status == ParticipantStatus.ACTIVE)
    )


def messages_with_senders() -> Select[Any]:
    """Messages (`MESSAGE_COLUMNS`) with their senders' columns (`SENDER_COLUMNS`)."""
    columns = [_M.c[name] for name in MESSAGE_COLUMNS] + [
        _U.c.username.label("sender_username"),
        _U.c.display_name.label("sender_display_name"),
        _U.c.avatar_file_id.label("sender_avatar_file_id"),
        _U.c.is_bot.label("sender_is_bot"),
    ]
    return select(*columns).select_from(_M.outerjoin(_U, _U.c.id == _M.c.sender_id))


def _with_senders(*bounds: Any) -> Select[Any]:
    """The messages of a conversation within `bounds`, with their senders' columns."""
    return (
        messages_with_senders()
        .where(_M.c.conversation_id == bindparam("conversation_id", type_=_M.c.id.type))
        .where(*bounds)
    )


def _page(*, older: bool, inclusive: bool = False) -> Prepared:
    """Up to `limit` messages of a conversation from number `seq` on, with their
    senders: below it, newest first (`older`), or above it (or from it: `inclusive`),
    oldest first."""
    seq = bindparam("seq", type_=BigInteger)
    bound = _M.c.seq >= seq if inclusive else _M.c.seq > seq
    if older:
        bound = _M.c.seq < seq
    return Prepared(
        _with_senders(bound)
        .order_by(_M.c.seq.desc() if older else _M.c.seq.asc())
        .limit(bindparam("limit", type_=Integer))
    )


def _in_range() -> list[Any]:
    """The live messages of a conversation whose `seq` is in [low, high] (a history
    page's, which are a run of numbers)."""
    return [
        _M.c.conversation_id == bindparam("conversation_id", type_=_M.c.id.type),
        _M.c.seq >= bindparam("low", type_=BigInteger),
        _M.c.seq <= bindparam("high", type_=BigInteger),
        _M.c.deleted_at.is_(None),
    ]


def _reactions() -> Prepared:
    return Prepared(
        select(_R.c.message_id, _R.c.emoji, _R.c.user_id)
        .select_from(_R.join(_M, _M.c.id == _R.c.message_id))
        .where(*_in_range())
        .order_by(_R.c.created_at, _R.c.id)
    )


def message_attachments() -> Select[Any]:
    """(message id, file id, filename, size, mime type, width, height, thumbnail key) of
    attachments (`hubbub.queries.history.attachment_fields` reads them so)."""
    return select(
        _MF.c.message_id,
        _F.c.id,
        _F.c.filename,
        _F.c.size,
        _F.c.mime_type,
        _F.c.width,
        _F.c.height,
        _F.c.thumbnail_key,
    ).select_from(_MF.join(_F, _F.c.id == _MF.c.file_id))


def _attachments() -> Prepared:
    return Prepared(
        message_attachments()
        .join(_M, _M.c.id == _MF.c.message_id)
        .where(*_in_range())
        .order_by(_MF.c.message_id, _MF.c.position)
    )


def _last_seq(*, every: bool) -> Prepared:
    """The last change number of the conversations the viewer is ACTIVE in: of one
    (`conversation_id`), or of every one (`every`) with its id."""
    columns = [_C.c.last_seq] if not every else [_P.c.conversation_id, _C.c.last_seq]
    conditions = [
        _P.c.user_id == bindparam("viewer", type_=_P.c.id.type),
        _P.c.status == ParticipantStatus.ACTIVE,
    ]
    if not every:
        conditions.append(_P.c.conversation_id == bindparam("conversation_id", type_=_P.c.id.type))
    return Prepared(
        select(*columns)
        .select_from(_P.join(_C, _C.c.id == _P.c.conversation_id))
        .where(*conditions)
    )


_ACCESS = _access()
_OLDER = _page(older=True)
_NEWER = _page(older=False)
_FROM = _page(older=False, inclusive=True)
_LAST_SEQ = _last_seq(every=False)
_LAST_SEQS = _last_seq(every=True)
_REACTIONS = _reactions()
_ATTACHMENTS = _attachments()
_LOWEST_MARKERS = Prepared(
    select(func.min(_P.c.last_read_seq), func.min(_P.c.last_delivered_seq))
    .where(_P.c.conversation_id == bindparam("conversation_id", type_=_P.c.id.type))
    .where(_P.c.status == ParticipantStatus.ACTIVE)
    .where(_P.c.user_id != bindparam("viewer", type_=_P.c.id.type))
)


async def history_access(
    reads: RawBatch, viewer: uuid.UUID, conversation_id: uuid.UUID, cursor: uuid.UUID | None
) -> tuple[int, int | None] | None:
    """(message count, the cursor's number or None) when the viewer is ACTIVE in the
    conversation; None when not."""
    rows = await reads.rows(
        _ACCESS, {"conversation_id": conversation_id, "viewer": viewer, "cursor": cursor}
    )
    if not rows:
        return None
    count, cursor_seq = rows[0]
    return int(count), cursor_seq


async def page_rows(
    reads: RawBatch,
    conversation_id: uuid.UUID,
    seq: int | None,
    *,
    limit: int,
    older: bool,
    inclusive: bool = False,
) -> tuple[list[tuple[Any, ...]], bool]:
    """Up to `limit` rows (`MESSAGE_COLUMNS` + `SENDER_COLUMNS`) from number `seq` (None:
    the newest), as `_page` says, and whether more exist beyond them."""
    if limit <= 0:
        return [], False
    statement = _OLDER if older else (_FROM if inclusive else _NEWER)
    rows = await reads.rows(
        statement,
        {
            "conversation_id": conversation_id,
            "seq": _NO_BOUND if seq is None else seq,
            "limit": limit + 1,
        },
    )
    return rows[:limit], len(rows) > limit


# Up to this many conversations, a resume reads each one's access on its own; beyond,
# every conversation of the viewer in one statement (whose cost grows with how many
# they are in, where the others' grows with how many are asked).
FEW_CONVERSATIONS = 4


async def last_seqs(
    reads: RawBatch, viewer: uuid.UUID, conversation_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The last change number of each of these conversations that the viewer is ACTIVE
    in; the others are left out."""
    if len(conversation_ids) <= FEW_CONVERSATIONS:
        found: dict[uuid.UUID, int] = {}
        for conversation_id in conversation_ids:
            rows = await reads.rows(
                _LAST_SEQ, {"conversation_id": conversation_id, "viewer": viewer}
            )
            if rows:
                found[conversation_id] = int(rows[0][0])
        return found
    wanted = set(conversation_ids)
    return {
        cid: int(last_seq)
        for cid, last_seq in await reads.rows(_LAST_SEQS, {"viewer": viewer})
        if cid in wanted
    }


async def reactions_in_range(
    reads: RawBatch, conversation_id: uuid.UUID, low: int, high: int
) -> Sequence[tuple[Any, ...]]:
    """(message id, emoji, user id) of the reactions to the live messages whose `seq`
    is in [low, high], oldest first."""
    return await reads.rows(
        _REACTIONS, {"conversation_id": conversation_id, "low": low, "high": high}
    )


async def attachments_in_range(
    reads: RawBatch, conversation_id: uuid.UUID, low: int, high: int
) -> Sequence[tuple[Any, ...]]:
    """(message id, file id, filename, size, mime type, width, height, thumbnail key) of
    the attachments of the live messages whose `seq` is in [low, high], by message, in
    order."""
    return await reads.rows(
        _ATTACHMENTS, {"conversation_id": conversation_id, "low": low, "high": high}
    )


async def lowest_markers(
    reads: RawBatch, conversation_id: uuid.UUID, viewer: uuid.UUID
) -> tuple[int, int] | None:
    """The lowest (read, delivered) markers of the ACTIVE participants other than the
    viewer; None when nobody else is there."""
    rows = await reads.rows(_LOWEST_MARKERS, {"conversation_id": conversation_id, "viewer": viewer})
    if not rows or rows[0][0] is None:
        return None
    return int(rows[0][0]), int(rows[0][1])

"""A history page (GET /conversations/:id/messages): rows from the driver into the wire
page, with the least work between them.

`hubbub.queries.messages.MessageQueries.history` -> here -> `hubbub.store.page_reads`.
The page is read as plain rows (no ORM entity), and each message becomes a dict of its
view's fields, written as JSON by `hubbub.wire.message_json` (validating the page into
models and dumping them again was a quarter of its server CPU), so the bytes a client
gets are the same as `hubbub.queries.presenters.message_public` gives.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from hubbub.domain.enums import MessageStatus
from hubbub.domain.errors import BadRequest
from hubbub.domain.rules import conversation_not_found
from hubbub.queries.presenters import own_status
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.page_reads import (
    MESSAGE_COLUMNS,
    attachments_in_range,
    history_access,
    lowest_markers,
    page_rows,
    reactions_in_range,
)
from hubbub.store.prepared import RawBatch
from hubbub.wire.message_json import EncodedMessagePage, messages_json

_FIELDS = len(MESSAGE_COLUMNS)
_ID, _SENDER_ID, _SEQ, _DELETED_AT = (
    MESSAGE_COLUMNS.index(name) for name in ("id", "sender_id", "seq", "deleted_at")
)


def invalid_cursor() -> BadRequest:
    return BadRequest("Cursor does not belong to this conversation", code="invalid_cursor")


async def history_page(
    db: Database,
    urls: FileUrlSigner,
    viewer: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    limit: int,
    before: uuid.UUID | None,
    after: uuid.UUID | None,
    around: uuid.UUID | None,
) -> EncodedMessagePage:
    """`limit` messages before a cursor (or the newest), after one, or around one, in
    number order; a cursor must be a message of this conversation."""
    if sum(x is not None for x in (before, after, around)) > 1:
        raise BadRequest("Use one of before, after and aroundId", code="invalid_cursor")
    cursor = before or after or around
    async with db.driver_reads() as reads:
        access = await history_access(reads, viewer, conversation_id, cursor)
        if access is None:
            raise conversation_not_found()
        total, cursor_seq = access
        if cursor is not None and cursor_seq is None:
            raise invalid_cursor()
        if around is not None:
            older, more_older = await page_rows(
                reads, conversation_id, cursor_seq, limit=(limit - 1) // 2, older=True
            )
            newer, more_newer = await page_rows(
                reads,
                conversation_id,
                cursor_seq,
                limit=limit - len(older),
                older=False,
                inclusive=True,
            )
            rows = [*reversed(older), *newer]
            has_more = more_older or more_newer
        elif after is not None:
            rows, has_more = await page_rows(
                reads, conversation_id, cursor_seq, limit=limit, older=False
            )
        else:
            newest_first, has_more = await page_rows(
                reads, conversation_id, cursor_seq, limit=limit, older=True
            )
            rows = newest_first[::-1]
        messages = await _message_fields(reads, urls, conversation_id, rows, viewer)
    return EncodedMessagePage(messages_json(messages), has_more, total)


async def _message_fields(
    reads: RawBatch,
    urls: FileUrlSigner,
    conversation_id: uuid.UUID,
    rows: list[tuple[Any, ...]],
    viewer: uuid.UUID,
) -> list[dict[str, Any]]:
    """Each row's view as a dict of `MessagePublic`'s fields (`message_public`'s rules:
    a deleted message keeps its place and loses its content). The rows are a run of
    consecutive `seq`, oldest first."""
    if not rows:
        return []
    low, high = rows[0][_SEQ], rows[-1][_SEQ]
    reactions: dict[uuid.UUID, list[dict[str, Any]]] = {}
    attachments: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if any(row[_DELETED_AT] is None for row in rows):
        reactions = reactions_by_message(
            await reactions_in_range(reads, conversation_id, low, high)
        )
        stored_files = await attachments_in_range(reads, conversation_id, low, high)
        for message_id, *stored in stored_files:
            attachments[message_id].append(attachment_fields(stored, urls))
    statuses = await _own_statuses(reads, conversation_id, rows, viewer)
    return message_views(rows, reactions, attachments, statuses, urls)


def message_views(
    rows: Sequence[tuple[Any, ...]],
    reactions: Mapping[uuid.UUID, list[dict[str, Any]]],
    attachments: Mapping[uuid.UUID, list[dict[str, Any]]],
    statuses: Mapping[uuid.UUID, MessageStatus],
    urls: FileUrlSigner,
) -> list[dict[str, Any]]:
    """Each row's (`MESSAGE_COLUMNS` + `SENDER_COLUMNS`) view as a dict of
    `MessagePublic`'s fields, with its reactions and attachments (`reactions_by_message`,
    `attachment_fields`) and the viewer's status of it when DELIVERED or READ."""
    senders: dict[uuid.UUID, dict[str, Any] | None] = {}
    views = []
    for row in rows:
        fields = dict(zip(MESSAGE_COLUMNS, row[:_FIELDS], strict=True))
        sender_id = row[_SENDER_ID]
        if sender_id not in senders:
            senders[sender_id] = _sender(sender_id, row[_FIELDS:], urls)
        fields["sender"] = senders[sender_id]
        if row[_DELETED_AT] is not None:
            fields |= {
                "content": "",
                "status": MessageStatus.DELETED,
                "attachments": [],
                "metadata": {},
                "mentions": [],
                "reactions": [],
            }
        else:
            message_id = row[_ID]
            fields["status"] = statuses.get(message_id, MessageStatus.SENT)
            fields["attachments"] = attachments.get(message_id, [])
            fields["reactions"] = reactions.get(message_id, [])
        views.append(fields)
    return views


def _sender(
    sender_id: uuid.UUID, columns: tuple[Any, ...], urls: FileUrlSigner
) -> dict[str, Any] | None:
    username, display_name, avatar_file_id, is_bot = columns
    if username is None:  # the sender's row is gone
        return None
    return {
        "id": sender_id,
        "username": username,
        "display_name": display_name,
        "avatar": urls.avatar_url(avatar_file_id),
        "is_bot": bool(is_bot),
    }


def reactions_by_message(rows: Any) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """One per emoji, in the order each emoji was first used (`reactions_public`)."""
    grouped: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = defaultdict(dict)
    for message_id, emoji, user_id in rows:
        grouped[message_id].setdefault(emoji, []).append(user_id)
    return {
        mid: [{"emoji": e, "count": len(u), "user_ids": u} for e, u in by_emoji.items()]
        for mid, by_emoji in grouped.items()
    }


def attachment_fields(stored: list[Any], urls: FileUrlSigner) -> dict[str, Any]:
    """`attachment_public`'s fields, from an attachment row."""
    file_id, filename, size, mime_type, width, height, thumbnail_key = stored
    return {
        "id": file_id,
        "url": urls.url(file_id, filename),
        "filename": filename,
        "size": size,
        "mime_type": mime_type,
        "width": width,
        "height": height,
        "thumbnail_url": urls.url(file_id, filename, thumbnail=True) if thumbnail_key else None,
    }


async def _own_statuses(
    reads: RawBatch,
    conversation_id: uuid.UUID,
    rows: list[tuple[Any, ...]],
    viewer: uuid.UUID,
) -> dict[uuid.UUID, MessageStatus]:
    """DELIVERED / READ of the viewer's own messages on the page, from the others'
    lowest markers (`own_message_statuses`; SENT is left out)."""
    own = [row for row in rows if row[_SENDER_ID] == viewer]
    if not own:
        return {}
    lows = await lowest_markers(reads, conversation_id, viewer)
    if lows is None:
        return {}  # nobody else is there: they stay SENT
    statuses: dict[uuid.UUID, MessageStatus] = {}
    for row in own:
        status = own_status(row[_SEQ], *lows)
        if status is not None:
            statuses[row[_ID]] = status
    return statuses

"""Messages of many conversations at once, from rows on the driver to views: the last
messages a page of conversations shows, and the changes a resume returns.

`hubbub.queries.views.Views` and `hubbub.queries.changes.sync_pages` -> here ->
`hubbub.store.view_reads`. Each row becomes a view's fields as a history page's does
(`hubbub.queries.history.message_views`), with the reactions, attachments and markers
of all of them read in one statement each; pydantic validates the last messages in one
call, or, for a list page, they are written as JSON without the models
(`last_message_json`). `tests/test_history_views.py` holds each listed last message,
and each change a resume returns, to the same message alone (GET …/messages/:id, which
goes through the ORM), byte for byte.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from hubbub.domain.enums import MessageStatus
from hubbub.queries.history import attachment_fields, message_views, reactions_by_message
from hubbub.queries.presenters import own_status
from hubbub.security.urls import FileUrlSigner
from hubbub.store.page_reads import MESSAGE_COLUMNS
from hubbub.store.view_reads import ViewReads
from hubbub.wire.message_json import MessageJson, messages_json
from hubbub.wire.models import MessagePublic

_ID, _CONVERSATION_ID, _SENDER_ID, _SEQ, _DELETED_AT = (
    MESSAGE_COLUMNS.index(name)
    for name in ("id", "conversation_id", "sender_id", "seq", "deleted_at")
)
_MESSAGES = TypeAdapter(list[MessagePublic])


async def last_message_views(
    reads: ViewReads,
    urls: FileUrlSigner,
    message_ids: Sequence[uuid.UUID],
    viewer: uuid.UUID,
) -> dict[uuid.UUID, MessagePublic]:
    """The views of these messages (of different conversations) as `viewer` sees them,
    by id; a message that is gone is left out."""
    ids, fields = await _fields_by_id(reads, urls, message_ids, viewer)
    return dict(zip(ids, _MESSAGES.validate_python(fields), strict=True))


async def last_message_json(
    reads: ViewReads,
    urls: FileUrlSigner,
    message_ids: Sequence[uuid.UUID],
    viewer: uuid.UUID,
) -> dict[uuid.UUID, MessageJson]:
    """`last_message_views`' messages as their JSON (`MessagePublic.wire()`'s), made
    without the models (`hubbub.wire.message_json`), for a list page."""
    ids, fields = await _fields_by_id(reads, urls, message_ids, viewer)
    return dict(zip(ids, messages_json(fields), strict=True))


async def _fields_by_id(
    reads: ViewReads, urls: FileUrlSigner, message_ids: Sequence[uuid.UUID], viewer: uuid.UUID
) -> tuple[list[uuid.UUID], list[dict[str, Any]]]:
    """The ids of those of these messages that are there, and their views' fields."""
    rows = await reads.messages(message_ids)
    if not rows:
        return [], []
    return [row[_ID] for row in rows], await message_fields_across(reads, urls, rows, viewer)


async def message_fields_across(
    reads: ViewReads, urls: FileUrlSigner, rows: list[tuple[Any, ...]], viewer: uuid.UUID
) -> list[dict[str, Any]]:
    """Each row's (`MESSAGE_COLUMNS` + `SENDER_COLUMNS`, of any conversations) view as a
    dict of `MessagePublic`'s fields, in the rows' order: their reactions, attachments
    and the viewer's statuses each read for all of them at once."""
    live = [row[_ID] for row in rows if row[_DELETED_AT] is None]
    reactions = reactions_by_message(await reads.reactions(live)) if live else {}
    attachments: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for message_id, *stored in await reads.attachments(live):
        attachments[message_id].append(attachment_fields(stored, urls))
    statuses = await _own_statuses(reads, rows, viewer)
    return message_views(rows, reactions, attachments, statuses, urls)


async def _own_statuses(
    reads: ViewReads, rows: list[tuple[Any, ...]], viewer: uuid.UUID
) -> dict[uuid.UUID, MessageStatus]:
    """DELIVERED / READ of the viewer's own live messages, from the others' lowest
    markers in each one's conversation (`own_message_statuses`; SENT is left out)."""
    own = [row for row in rows if row[_SENDER_ID] == viewer and row[_DELETED_AT] is None]
    if not own:
        return {}
    conversations = list(dict.fromkeys(row[_CONVERSATION_ID] for row in own))
    lows = await reads.lowest_markers(conversations, viewer)
    statuses: dict[uuid.UUID, MessageStatus] = {}
    for row in own:
        if row[_CONVERSATION_ID] not in lows:
            continue  # nobody else is there: it stays SENT
        status = own_status(row[_SEQ], *lows[row[_CONVERSATION_ID]])
        if status is not None:
            statuses[row[_ID]] = status
    return statuses

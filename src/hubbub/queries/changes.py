"""Pages of changes (GET /conversations/:id/changes) and resume (the `sync` event): rows
from the driver into the wire pages, as history's are.

`hubbub.queries.messages.MessageQueries` -> here -> `hubbub.store.page_reads`. A
reconnect storm is thousands of resumes at once, each asking after twenty or more
conversations; through the ORM one resume of 20 conversations with 40 changes cost
13 ms of CPU (in process, SQLite), most of it SQLAlchemy building and keying a
statement whose shape changed with the number of conversations, and loading entities.
Here every statement has one shape, compiled once (the viewer's access with each
conversation's last change number, then per conversation with changes its page by
`change_seq` with senders, reactions and attachments), and each message becomes the
same dict of view fields as a history page's (`hubbub.queries.history.message_fields`),
written as JSON without a model in between (`hubbub.wire.message_json`).

Like a history page, the statements run without a transaction (each reads what is
committed when it runs). The bound of each page is read first, so a change committed
meanwhile is numbered above it and comes with the next page or its live event.
"""

from __future__ import annotations

import uuid

from hubbub.domain.rules import conversation_not_found
from hubbub.queries.history import message_fields
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.page_reads import MESSAGE_COLUMNS, changes_rows, driver_reads, last_seqs
from hubbub.store.prepared import RawBatch
from hubbub.wire.message_json import EncodedChangesPage, messages_json

_CHANGE_SEQ = MESSAGE_COLUMNS.index("change_seq")


async def changes_page(
    db: Database,
    urls: FileUrlSigner,
    viewer: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    since: int,
    limit: int,
) -> EncodedChangesPage:
    """Up to `limit` messages changed after number `since`, in change order; a
    conversation the viewer is not ACTIVE in is not found."""
    async with driver_reads(db.read_engine) as reads:
        upto = (await last_seqs(reads, viewer, [conversation_id])).get(conversation_id)
        if upto is None:
            raise conversation_not_found()
        page = await _page(
            reads, urls, viewer, conversation_id, since=since, upto=upto, limit=limit
        )
    return page


async def sync_pages(
    db: Database,
    urls: FileUrlSigner,
    viewer: uuid.UUID,
    known: dict[uuid.UUID, int],
    *,
    limit: int,
) -> tuple[dict[uuid.UUID, EncodedChangesPage], list[uuid.UUID]]:
    """Per known conversation (id -> the client's last number), the changes after it, in
    the order asked; the conversations the viewer is no longer ACTIVE in, as removed."""
    async with driver_reads(db.read_engine) as reads:
        bounds = await last_seqs(reads, viewer, list(known))
        pages: dict[uuid.UUID, EncodedChangesPage] = {}
        for conversation_id, since in known.items():
            upto = bounds.get(conversation_id)
            if upto is not None:
                pages[conversation_id] = await _page(
                    reads, urls, viewer, conversation_id, since=since, upto=upto, limit=limit
                )
    removed = [cid for cid in known if cid not in bounds]
    return pages, removed


async def _page(
    reads: RawBatch,
    urls: FileUrlSigner,
    viewer: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    since: int,
    upto: int,
    limit: int,
) -> EncodedChangesPage:
    """The changes in (since, upto], at most `limit`, and the number to ask after next
    (the last one returned while more remain)."""
    if upto <= since:
        return EncodedChangesPage([], last_seq=since, has_more=False)
    rows, has_more = await changes_rows(reads, conversation_id, since, upto, limit=limit)
    changes = await message_fields(reads, urls, conversation_id, rows, viewer, by="change_seq")
    last_seq = rows[-1][_CHANGE_SEQ] if has_more else upto
    return EncodedChangesPage(messages_json(changes), last_seq=last_seq, has_more=has_more)

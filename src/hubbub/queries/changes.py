"""Pages of changes (GET /conversations/:id/changes) and resume (the `sync` event): rows
from the driver into the wire pages, as history's are.

`hubbub.queries.messages.MessageQueries` -> here -> `hubbub.store.page_reads`. A
reconnect storm is thousands of resumes at once, each asking after twenty or more
conversations; through the ORM one resume of 20 conversations with 40 changes cost
13 ms of CPU (in process, SQLite), most of it SQLAlchemy building and keying a
statement whose shape changed with the number of conversations, and loading entities.
Here a page of changes is a resume of one conversation, and every statement has one
shape, compiled once: the last change numbers of the conversations asked (the
viewer's access), all their pages in one more, an arm per conversation
(`hubbub.store.resume_reads`), and the reactions, attachments and markers of all those
messages in one each (`hubbub.queries.last_messages.message_fields_across`): three
statements per conversation made a storm's time mostly statements' fixed costs. Each
message becomes the same dict of view fields as a history page's
(`hubbub.queries.history.message_views`), written as JSON without a model in between
(`hubbub.wire.message_json`).

Like a history page, the statements run without a transaction (each reads what is
committed when it runs). The bound of each page is read first, so a change committed
meanwhile is numbered above it and comes with the next page or its live event.
"""

from __future__ import annotations

import uuid

from hubbub.domain.rules import conversation_not_found
from hubbub.queries.last_messages import message_fields_across
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.page_reads import MESSAGE_COLUMNS, last_seqs
from hubbub.store.resume_reads import changes_of_many
from hubbub.store.view_reads import ViewReads
from hubbub.wire.message_json import EncodedChangesPage, messages_json

_ID, _CHANGE_SEQ = (MESSAGE_COLUMNS.index(name) for name in ("id", "change_seq"))


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
    conversation the viewer is not ACTIVE in is not found. A resume of one."""
    pages, removed = await sync_pages(db, urls, viewer, {conversation_id: since}, limit=limit)
    if removed:
        raise conversation_not_found()
    return pages[conversation_id]


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
    async with db.driver_reads() as reads:
        bounds = await last_seqs(reads, viewer, list(known))
        asks = [(cid, since, bounds[cid]) for cid, since in known.items() if cid in bounds]
        found = await changes_of_many(reads, [ask for ask in asks if ask[2] > ask[1]], limit=limit)
        every_row = [row for rows, _ in found.values() for row in rows]
        fields = await message_fields_across(ViewReads(reads), urls, every_row, viewer)
    by_id = {view["id"]: view for view in fields}
    pages: dict[uuid.UUID, EncodedChangesPage] = {}
    for conversation_id, since, upto in asks:
        if upto <= since:
            pages[conversation_id] = EncodedChangesPage([], last_seq=since, has_more=False)
            continue
        rows, has_more = found.get(conversation_id, ([], False))
        changes = messages_json([by_id[row[_ID]] for row in rows])
        last_seq = rows[-1][_CHANGE_SEQ] if has_more else upto
        pages[conversation_id] = EncodedChangesPage(changes, last_seq=last_seq, has_more=has_more)
    removed = [cid for cid in known if cid not in bounds]
    return pages, removed

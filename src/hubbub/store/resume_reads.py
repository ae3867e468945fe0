"""The changes of many conversations at once, for a resume (the `sync` event).

`hubbub.queries.changes.sync_pages` -> here -> `hubbub.store.prepared` (the driver). A
reconnecting client asks after every conversation it knows, twenty and more; a
statement per conversation (and as many again for their reactions and attachments)
made a reconnect storm's server spend most of its time in statements' fixed costs
(`docs/performance.md`, "Tenth round"). Here the conversations' pages are the arms of
one `UNION ALL`, each arm one conversation's changes in (since, upto] in change order,
cut at its own limit, so the rows are the same as each conversation's statement alone
would give. A statement is compiled once per number of arms, rounded up to a power of
two (the spare arms ask for an empty range), and a longer list is asked in parts of
`MOST_ARMS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, Select, Table, bindparam, select, union_all

from hubbub.store.id_lists import size_class
from hubbub.store.models import Message
from hubbub.store.page_reads import MESSAGE_COLUMNS, messages_with_senders
from hubbub.store.prepared import Prepared, RawBatch

_M = cast(Table, Message.__table__)
_CONVERSATION, _CHANGE_SEQ = (
    MESSAGE_COLUMNS.index(name) for name in ("conversation_id", "change_seq")
)

# Arms per statement: a resume asks after up to 1,000 conversations, and SQLite allows
# 500 arms to a compound statement.
MOST_ARMS = 32

# A conversation's ask: its id, the number after which changes are wanted, the last.
Ask = tuple[uuid.UUID, int, int]

_by_size: dict[int, Prepared] = {}


def _arm(n: int) -> Select[Any]:
    """One conversation's changes in (`s<n>`, `u<n>`], at most `l<n>`, in change order."""
    page = (
        messages_with_senders()
        .where(_M.c.conversation_id == bindparam(f"c{n}", type_=_M.c.id.type))
        .where(_M.c.change_seq > bindparam(f"s{n}", type_=BigInteger))
        .where(_M.c.change_seq <= bindparam(f"u{n}", type_=BigInteger))
        .order_by(_M.c.change_seq.asc())
        .limit(bindparam(f"l{n}", type_=Integer))
        .subquery(f"arm{n}")
    )
    return select(*page.c)


def _statement(size: int) -> Prepared:
    found = _by_size.get(size)
    if found is None:
        arms = [_arm(n) for n in range(size)]
        found = _by_size[size] = Prepared(arms[0] if size == 1 else union_all(*arms))
    return found


async def changes_of_many(
    reads: RawBatch, asks: Sequence[Ask], *, limit: int
) -> dict[uuid.UUID, tuple[list[tuple[Any, ...]], bool]]:
    """Per conversation asked, up to `limit` rows (`MESSAGE_COLUMNS` +
    `SENDER_COLUMNS`) whose last change is in (since, upto], in change order, and
    whether more exist beyond them. A conversation with none is left out."""
    found: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
    for start in range(0, len(asks), MOST_ARMS):
        part = asks[start : start + MOST_ARMS]
        size = size_class(len(part))
        spare = (part[-1][0], 0, 0)  # (0, 0]: no change is numbered there
        values: dict[str, Any] = {}
        for n, (conversation_id, since, upto) in enumerate([*part, *[spare] * (size - len(part))]):
            values |= {f"c{n}": conversation_id, f"s{n}": since, f"u{n}": upto, f"l{n}": limit + 1}
        for row in await reads.rows(_statement(size), values):
            found.setdefault(row[_CONVERSATION], []).append(row)
    pages = {}
    for conversation_id, rows in found.items():
        rows.sort(key=lambda row: int(row[_CHANGE_SEQ]))  # the arms' order is not promised
        pages[conversation_id] = (rows[:limit], len(rows) > limit)
    return pages

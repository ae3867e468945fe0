"""Writes that add a row under a unique key, made safe to repeat at the same moment.

Actions -> here (a helper around an action's own write block).

Such a write reads first ("is this member, command, subscription already there?") and
inserts when not. Two identical requests at once both read "not there"; on PostgreSQL
the unique key then lets one insert through and the other fails with an
IntegrityError (SQLite's single writer never interleaves them). The loser's
transaction is rolled back whole (its events with it: they leave only on commit), and
its second run reads the winner's committed row and takes the "already there" path, as
if it had come a moment later. One retry is enough: a second conflict on the same key
would need the winner's row to vanish and come back between the two runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

T = TypeVar("T")


async def once_more_if_raced(write: Callable[[], Awaitable[T]]) -> T:
    """`write()`, run a second time if it lost a unique-key race."""
    try:
        return await write()
    except IntegrityError:
        return await write()

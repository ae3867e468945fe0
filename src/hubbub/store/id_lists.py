"""Statements over a list of ids, compiled once per size class and run on the driver.

Store functions that read on the driver (`hubbub.store.view_reads`) -> here ->
`hubbub.store.prepared`. A list of ids goes into `IN (...)` as one bound parameter
each, so a statement compiled for one length does not serve another. The list is
padded to the next power of two by repeating its last id (a repeated id in `IN (...)`
changes nothing), so a statement is compiled at most once per size class: eight for
lists of up to 128. A longer list is asked for in parts of `MOST_IDS`, so that no
statement comes near the drivers' limits on bound parameters (32,766 on SQLite, 32,767
on PostgreSQL): one conversation's view lists all of its members, and a group has no
size limit. The statements are such that a part's rows are the rows of its ids (each
row belongs to one id: grouped by it, or ordered within it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Select, bindparam

from hubbub.store.prepared import Prepared, RawBatch

# A statement, given the bound parameters that stand for the ids.
Shape = Callable[[list[Any]], Select[Any]]

MOST_IDS = 1024


def size_class(count: int) -> int:
    """The power of two a list of `count` is padded to, so that statements are compiled
    once per size class rather than once per length."""
    size = 1
    while size < count:
        size *= 2
    return size


class ByIds:
    """`shape`'s statement over ids of `column`'s type."""

    def __init__(self, shape: Shape, column: Column[Any]) -> None:
        self._shape = shape
        self._type = column.type
        self._by_size: dict[int, Prepared] = {}

    async def rows(
        self, reads: RawBatch, ids: Sequence[uuid.UUID], **values: Any
    ) -> list[tuple[Any, ...]]:
        """Its rows for these ids (none for no id), with `values` for its other
        parameters."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), MOST_IDS):
            part = ids[start : start + MOST_IDS]
            size = size_class(len(part))
            padded = [*part, *([part[-1]] * (size - len(part)))]
            statement = self._by_size.get(size)
            if statement is None:
                binds = [bindparam(f"i{n}", type_=self._type) for n in range(size)]
                statement = self._by_size[size] = Prepared(self._shape(binds))
            given = {f"i{n}": v for n, v in enumerate(padded)}
            rows += await reads.rows(statement, given | values)
        return rows

"""Stored times and JSON read back as written, on both backends, on both read paths.

The history page reads rows through prepared statements on the driver
(`hubbub.store.prepared`), which apply the column types' result processors themselves;
the ORM applies them through SQLAlchemy. A time is stored without a zone on SQLite and
read back as UTC by `hubbub.store.dialect.UTCDateTime`, whose SQLite reader takes a
short way for the form SQLAlchemy writes and the general one for any other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import DateTime, text, update
from sqlalchemy.dialects import sqlite

from hubbub.app import Node
from hubbub.store.dialect import UTCDateTime
from hubbub.store.models import Message
from tests.chat import create_group, send
from tests.conftest import RegisterFn

# Each time as written, and as the page must show it.
TIMES = [
    (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
    (datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC), "2026-01-02T03:04:05.678Z"),
    (
        datetime(2026, 1, 2, 5, 4, 5, 120_000, tzinfo=timezone(timedelta(hours=2))),
        "2026-01-02T03:04:05.120Z",
    ),
]


async def read_back(
    node: Node, client: httpx.AsyncClient, headers: dict[str, str], room: str, mid: str
) -> tuple[str, datetime, dict[str, object]]:
    """The message's createdAt and metadata on its history page, and its time by the ORM."""
    page = await client.get(f"/conversations/{room}/messages", headers=headers)
    assert page.status_code == 200, page.text
    [listed] = [m for m in page.json()["messages"] if m["id"] == mid]
    async with node.services.db.read() as session:
        stored = await session.get(Message, uuid.UUID(mid))
    assert stored is not None
    return listed["createdAt"], stored.created_at, listed["metadata"]


@pytest.mark.parametrize(("written", "shown"), TIMES)
async def test_a_stored_time_reads_back_the_same_on_both_paths(
    node: Node, client: httpx.AsyncClient, register: RegisterFn, written: datetime, shown: str
) -> None:
    a, b = await register(), await register()
    room = await create_group(client, a, b)
    metadata = {"nested": {"list": [1, 2.5, "three", None, True]}, "emoji": "\U0001f600"}
    mid = (await send(client, a, room, "hello", metadata=metadata))["id"]
    async with node.services.db.write() as session:
        await session.execute(
            update(Message).where(Message.id == uuid.UUID(mid)).values(created_at=written)
        )
    listed, by_orm, listed_metadata = await read_back(node, client, a.headers, room, mid)
    assert by_orm == written
    assert by_orm.tzinfo is UTC
    assert listed == shown
    assert listed_metadata == metadata


async def test_a_time_stored_with_a_zone_by_another_writer_reads_back_in_utc(
    node: Node, client: httpx.AsyncClient, register: RegisterFn
) -> None:
    if node.services.db.read_engine.dialect.name != "sqlite":
        pytest.skip("SQLite-only test: PostgreSQL stores every time with its zone")
    a, b = await register(), await register()
    room = await create_group(client, a, b)
    mid = (await send(client, a, room, "hello"))["id"]
    async with node.services.db.write() as session:
        await session.execute(
            text("UPDATE messages SET created_at = :t WHERE id = :id"),
            {"t": "2026-01-02 05:04:05.250000+02:00", "id": uuid.UUID(mid).hex},
        )
    listed, by_orm, _ = await read_back(node, client, a.headers, room, mid)
    assert listed == "2026-01-02T03:04:05.250Z"
    assert by_orm == datetime(2026, 1, 2, 3, 4, 5, 250_000, tzinfo=UTC)
    assert by_orm.tzinfo is UTC


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds: still written
        datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC),
        datetime(2026, 1, 2, 1, 4, 5, 7, tzinfo=timezone(timedelta(hours=-2))),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),  # a year of three digits
    ],
)
def test_a_time_is_bound_for_sqlite_as_sqlalchemy_would(moment: datetime) -> None:
    """UTCDateTime's SQLite binding writes in one call the text TypeDecorator's chain
    (its `process_bind_param`, then the dialect's DATETIME formatting) writes."""
    dialect = sqlite.dialect()
    column = UTCDateTime()
    fast = column.bind_processor(dialect)
    assert fast is not None
    chain = dialect.type_descriptor(DateTime(timezone=True)).bind_processor(dialect)
    assert chain is not None
    expected = chain(column.process_bind_param(moment, dialect))
    other = datetime(2030, 6, 7, 8, 9, 10, 11, tzinfo=UTC)
    # The same time again (kept with its text), another between, then it again.
    written = [fast(moment), fast(moment), fast(other), fast(moment)]
    assert written == [expected, expected, "2030-06-07 08:09:10.000011", expected]
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive"):
        fast(moment.replace(tzinfo=None))

"""Every statement compiled for the driver stays prepared on its connection
(`hubbub.store.engines.LONGEST_STATEMENT`, which `hubbub.store.prepared` enforces): a
statement the driver does not keep is parsed and planned by PostgreSQL on every run, and
the resume's statement of 32 conversations cost 31 ms of planning each time.

On PostgreSQL the test looks in `pg_prepared_statements`, the server's own list of the
statements a connection keeps prepared (asyncpg runs one it does not keep unnamed, which
the list leaves out).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Integer, column, select, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from hubbub.store.database import Database, open_database
from hubbub.store.engines import LONGEST_STATEMENT
from hubbub.store.id_lists import size_class
from hubbub.store.prepared import Prepared
from hubbub.store.resume_reads import MOST_ARMS, _statement, changes_of_many
from tests.conftest import Backend

_KEPT = table("pg_prepared_statements", column("statement"))


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[Database]:
    opened = open_database(backend.database_url)
    yield opened
    await opened.dispose()


@pytest.mark.parametrize("dialect", [postgresql.asyncpg.dialect(), sqlite.dialect()])
def test_the_resumes_longest_statement_fits(dialect: Dialect) -> None:
    longest = _statement(size_class(MOST_ARMS)).compiled(dialect)
    # Above the driver's default (15 KiB): what was left out of its cache.
    assert 15 * 1024 < len(longest.sql) <= LONGEST_STATEMENT


def test_a_statement_too_long_to_stay_prepared_is_refused() -> None:
    padding = "x" * LONGEST_STATEMENT
    too_long = Prepared(text(f"SELECT 1 AS one -- {padding}").columns(one=Integer))
    with pytest.raises(ValueError, match="would not stay prepared"):
        too_long.compiled(postgresql.asyncpg.dialect())


@pytest.mark.postgres_only
async def test_a_resume_of_twenty_conversations_stays_prepared(db: Database) -> None:
    asks = [(uuid.uuid4(), 0, 5) for _ in range(20)]
    kept = Prepared(select(_KEPT.c.statement))
    async with db.driver_reads() as reads:
        for _ in range(3):
            assert await changes_of_many(reads, asks, limit=50) == {}
        statements = [row[0] for row in await reads.rows(kept, {})]
    resumes = [sql for sql in statements if "arm31" in sql]
    # One statement of 32 arms (20 asked, rounded up), prepared once and run three times.
    assert len(resumes) == 1

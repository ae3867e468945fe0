"""What each database can do: the one place that turns a URL into capabilities.

Callers ask the `Capabilities` of the configured database (is it embedded beside the
server? does it take one writer at a time? is the group commit one transaction? is the
search index kept after the send?) instead of testing its name. The column types and
SQL that differ between the dialects stay in `hubbub.store.dialect`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Capabilities:
    name: str
    # A file beside the server (SQLite): `serve` migrates it itself, and it lives in the
    # data directory; a server database is migrated by `hubbub migrate` alone.
    embedded: bool
    # One writer at a time: every write (sessions and group commits) takes one lock in
    # the process, so the database never makes a writer wait (SQLite's own busy wait
    # would block the event loop).
    single_writer: bool
    # Group commits in flight at once, each on a connection held for it.
    batch_writers: int
    # New messages reach the full-text index after their send, in bulk (SQLite FTS5:
    # 70-200 µs a row inside the send, ~7 µs in bulk); searches first catch up.
    search_index_deferred: bool
    # The driver runs each statement inline, its rows fetched before the call returns
    # (`hubbub.store.sqlite_driver`): reads on the driver share one connection kept for
    # them (`hubbub.store.read_connections`).
    reads_inline: bool


# The longest statement text the driver keeps prepared on a connection (asyncpg's
# `max_cacheable_statement_size`, given by `hubbub.store.database.open_database`), and the
# longest `hubbub.store.prepared` compiles. asyncpg's default, 15 KiB, left the resume's
# statement of 16 and 32 conversations (24 and 49 KB) out of its cache: PostgreSQL parsed
# and planned it on every run (31 ms each), 63 of the 70 s it spent on statements in a
# reconnect storm of 2,000 clients (`docs/performance.md`, "Seventeenth round").
LONGEST_STATEMENT = 64 * 1024


SQLITE = Capabilities(
    name="sqlite",
    embedded=True,
    single_writer=True,
    batch_writers=1,
    search_index_deferred=True,
    reads_inline=True,
)
POSTGRESQL = Capabilities(
    name="postgresql",
    embedded=False,
    single_writer=False,
    # Two: a batch gathers while the other is in flight (one round trip of a busy loop).
    batch_writers=2,
    search_index_deferred=False,
    reads_inline=False,
)


def capabilities_of(url: str) -> Capabilities:
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return SQLITE
    if scheme in ("postgresql", "postgres"):
        return POSTGRESQL
    raise ValueError(f"unsupported database scheme {scheme!r}")

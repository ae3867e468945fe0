"""SQLite: index messages for search after their send, in bulk

Revision ID: 0004
Revises: 0003

Until now an AFTER INSERT trigger added every message to the FTS5 index inside the
send's own transaction. From here the trigger only notes the message's rowid in
`messages_fts_pending`, and the server moves noted messages into the index in bulk
(`hubbub.store.dialect.index_pending_messages`). PostgreSQL is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING_TABLE = "CREATE TABLE messages_fts_pending (message_rowid INTEGER PRIMARY KEY)"
_DEFERRED_TRIGGERS = [
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts_pending(message_rowid) VALUES (new.rowid); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    "SELECT 'delete', old.rowid, old.content WHERE NOT EXISTS "
    "(SELECT 1 FROM messages_fts_pending WHERE message_rowid = old.rowid); "
    "DELETE FROM messages_fts_pending WHERE message_rowid = old.rowid; END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages "
    "WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE message_rowid = old.rowid) "
    "BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END",
]
_TRIGGER_NAMES = ("messages_fts_ai", "messages_fts_ad", "messages_fts_au")

# The triggers as revision 0001 made them: each change reaches the index at once.
_IMMEDIATE_TRIGGERS = [
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END",
]


def _drop_triggers() -> None:
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_triggers()
    op.execute(_PENDING_TABLE)
    for statement in _DEFERRED_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_triggers()
    # Whatever is still noted goes into the index before the list goes away.
    op.execute(
        "INSERT INTO messages_fts(rowid, content) SELECT m.rowid, m.content "
        "FROM messages AS m JOIN messages_fts_pending AS p ON m.rowid = p.message_rowid"
    )
    op.execute("DROP TABLE messages_fts_pending")
    for statement in _IMMEDIATE_TRIGGERS:
        op.execute(statement)

"""Every hot query is served by an index (docs/data-model.md, Growth), checked on PostgreSQL.

A conversation with 200,000 messages (plus 200 other conversations for the same user)
is loaded directly with INSERT … SELECT; the services then run their real queries for
a history page (newest, before, after, around), the conversation list with unread
counts, resume (`/changes` and `sync`) and search. Every statement they send that touches
`messages` is captured as sent and EXPLAINed; a sequential scan of `messages` fails.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import event, text

from hubbub.app import Node
from hubbub.domain.ids import new_id

pytestmark = pytest.mark.postgres_only

MESSAGES = 200_000
OTHER_CONVERSATIONS = 200


async def _load(node: Node) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    me, other, big = new_id(), new_id(), new_id()
    async with node.services.db.write() as session:
        await session.execute(
            text(
                "INSERT INTO users (id, username, username_key, email, password_hash, is_active,"
                " created_at, updated_at) VALUES"
                " (:me, 'me', 'me', 'me@example.com', 'x', true, now(), now()),"
                " (:other, 'other', 'other', 'other@example.com', 'x', true, now(), now())"
            ),
            {"me": me, "other": other},
        )
        await session.execute(
            text(
                "INSERT INTO conversations (id, type, name, created_by, created_at, updated_at,"
                " last_message_at, last_seq, message_count, metadata)"
                " SELECT CASE WHEN g = 0 THEN CAST(:big AS uuid) ELSE gen_random_uuid() END,"
                " 'GROUP', 'c' || g, :me, now(), now(), now() - g * interval '1 minute',"
                " CASE WHEN g = 0 THEN :n ELSE 50 END, CASE WHEN g = 0 THEN :n ELSE 50 END, '{}'"
                " FROM generate_series(0, :others) AS g"
            ),
            {"big": big, "me": me, "n": MESSAGES, "others": OTHER_CONVERSATIONS},
        )
        for user, read in ((me, MESSAGES - 30), (other, 0)):
            await session.execute(
                text(
                    "INSERT INTO conversation_participants (id, conversation_id, user_id, role,"
                    " status, joined_at, last_read_seq, last_delivered_seq, created_at,"
                    " updated_at) SELECT gen_random_uuid(), c.id, :user, 'MEMBER', 'ACTIVE',"
                    " now(), CASE WHEN c.id = :big THEN :read ELSE 40 END, 0, now(), now()"
                    " FROM conversations c"
                ),
                {"user": user, "big": big, "read": read},
            )
        # The big conversation, then 50 messages in each of the others.
        await session.execute(
            text(
                "INSERT INTO messages (id, conversation_id, sender_id, type, content, status, seq,"
                " change_seq, reply_count, metadata, mentions, server_timestamp, created_at,"
                " updated_at) SELECT gen_random_uuid(), :big,"
                " CASE WHEN g % 2 = 0 THEN CAST(:me AS uuid) ELSE CAST(:other AS uuid) END,"
                " 'TEXT', 'message ' || g || ' about topic' || (g % 1000), 'SENT', g, g, 0, '{}',"
                " '{}', now(), now() - (:n - g) * interval '1 second',"
                " now() FROM generate_series(1, :n) AS g"
            ),
            {"big": big, "me": me, "other": other, "n": MESSAGES},
        )
        await session.execute(
            text(
                "INSERT INTO messages (id, conversation_id, sender_id, type, content, status, seq,"
                " change_seq, reply_count, metadata, mentions, server_timestamp, created_at,"
                " updated_at) SELECT gen_random_uuid(), c.id, :other, 'TEXT', 'small talk ' || g,"
                " 'SENT', g, g, 0, '{}', '{}', now(), now(), now()"
                " FROM conversations c CROSS JOIN generate_series(1, 50) AS g WHERE c.id <> :big"
            ),
            {"big": big, "other": other},
        )
    async with node.services.db.write_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE")
    return me, other, big


def _seq_scans_of_messages(plan: Any) -> list[str]:
    found: list[str] = []
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == "messages":
            found.append(plan.get("Filter", ""))
        for value in plan.values():
            found += _seq_scans_of_messages(value)
    elif isinstance(plan, list):
        for item in plan:
            found += _seq_scans_of_messages(item)
    return found


async def test_hot_queries_use_indexes_on_200k_messages(node: Node) -> None:
    me, _, big = await _load(node)
    services = node.services
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "messages" in statement and statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    engine = services.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        newest = await services.message_queries.history(me, big, limit=50)
        assert [m["seq"] for m in newest.messages] == list(range(MESSAGES - 49, MESSAGES + 1))
        assert newest.total_count == MESSAGES
        middle = uuid.UUID(newest.messages[0]["id"])
        older = await services.message_queries.history(me, big, limit=50, before=middle)
        assert older.messages[-1]["seq"] == MESSAGES - 50
        first, tenth = (uuid.UUID(older.messages[i]["id"]) for i in (0, 10))
        await services.message_queries.history(me, big, limit=50, after=first)
        await services.message_queries.history(me, big, limit=50, around=tenth)
        listed = await services.conversation_queries.list_for(
            me, limit=100, before=None, archived=False
        )
        unread = {uuid.UUID(c["id"]): c["unreadCount"] for c in listed.conversations}
        assert unread[big] == 15  # 30 unread numbers, half of them mine
        changes = await services.message_queries.changes(me, big, since=MESSAGES - 100, limit=100)
        assert len(changes.changes) == 100
        # Resume across 61 conversations: a page for each (every one has changes).
        others = [uuid.UUID(c["id"]) for c in listed.conversations if c["id"] != str(big)][:60]
        pages, removed = await services.message_queries.sync(
            me, {big: MESSAGES - 100, **dict.fromkeys(others, 40)}, limit=100
        )
        assert removed == []
        newest_hundred = list(range(MESSAGES - 99, MESSAGES + 1))
        assert [m["changeSeq"] for m in pages[big].changes] == newest_hundred
        assert pages[big].has_more is False
        assert all([m["seq"] for m in pages[o].changes] == list(range(41, 51)) for o in others)
        found = await services.search.search(
            me, "topic7", conversation_id=None, limit=20, before=None
        )
        assert found.messages
        assert all(m.content.endswith("topic7") for m in found.messages)
        await services.search.search(me, "topic7", conversation_id=big, limit=20, before=None)
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    assert len(captured) >= 10
    offenders = []
    async with services.db.read_engine.connect() as conn:
        for statement, parameters in captured:
            result = await conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, tuple(parameters)
            )
            raw = result.scalar()
            plan = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
            if _seq_scans_of_messages(plan):
                offenders.append(statement)
    # Not `== []`: a readable list, without pytest diffing long SQL strings.
    assert not offenders, "sequential scan of messages in:\n\n" + "\n\n".join(offenders)

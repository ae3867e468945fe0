"""A send's access is enforced by the write that stores it, not only by the read before.

PostgreSQL runs the group commit's access check and its insert as separate statements,
and the one-send path checks before it takes the conversation's number. Each test holds
a removal or a mute open in another transaction, taking its locks as a removal does
(the participant row, then the conversation), starts a send that reads the sender as
still allowed, waits until that send is blocked on a lock, commits the change, and
checks the send was refused and nothing was stored.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from hubbub.app import Node
from tests.chat import create_group, send
from tests.conftest import Backend, RegisterFn

pytestmark = pytest.mark.postgres_only


async def _wait_for_a_blocked_statement(conn: asyncpg.Connection) -> None:
    for _ in range(500):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the send never waited for the change's locks")


CASES = [
    (path, change, status)
    for path in ("group commit", "one send")
    for change, status in (("removed", 404), ("muted", 403))
]


@pytest.mark.parametrize("case", CASES, ids=[f"{p}-{c}" for p, c, _ in CASES])
async def test_a_change_committed_after_the_check_refuses_the_send(
    client: httpx.AsyncClient,
    node: Node,
    backend: Backend,
    register: RegisterFn,
    case: tuple[str, str, int],
) -> None:
    path, change, status = case
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    root = (await send(client, ann, cid, "a thread to answer"))["id"]
    body: dict[str, object] = {"content": "sent while the change commits"}
    if path == "one send":  # a reply is stored alone
        body["parentMessageId"] = root

    conn = await asyncpg.connect(backend.database_url.replace("+asyncpg", ""))
    try:
        change_tx = conn.transaction()
        await change_tx.start()
        column = "status = 'REMOVED'" if change == "removed" else "can_send_messages = false"
        await conn.execute(
            f"UPDATE conversation_participants SET {column}"  # noqa: S608 - fixed text
            " WHERE conversation_id = $1 AND user_id = $2",
            uuid.UUID(cid),
            ben.id,
        )
        await conn.execute("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", uuid.UUID(cid))
        sending = asyncio.create_task(
            client.post(f"/conversations/{cid}/messages", headers=ben.headers, json=body)
        )
        await _wait_for_a_blocked_statement(conn)
        await change_tx.commit()
        answer = await sending
        stored = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender_id = $2",
            uuid.UUID(cid),
            ben.id,
        )
    finally:
        await conn.close()
    assert answer.status_code == status, answer.text
    assert stored == 0

"""Reads over a list of ids (`hubbub.store.id_lists`): a list longer than one statement
takes is asked for in parts, and every id's rows come back, whichever part it is in.
One conversation's view lists all of its members, and a group has no size limit."""

from __future__ import annotations

import uuid

import httpx

from hubbub.store.id_lists import MOST_IDS
from hubbub.store.view_reads import ViewReads
from tests.chat import create_group
from tests.conftest import Node, RegisterFn


async def test_a_long_id_list_is_read_in_parts(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    group = uuid.UUID(await create_group(client, ann, ben, cat))
    # More than half the drivers' limit on bound parameters (32,766 on SQLite, 32,767 on
    # PostgreSQL), which padding a list to the next power of two would take past it.
    strangers = [uuid.uuid4() for _ in range(17_000)]
    # The known ids in the first, second and last part.
    asked = [ann.id, *strangers[:MOST_IDS], ben.id, *strangers[MOST_IDS:], cat.id]
    async with node.services.db.read() as session:
        reads = await ViewReads.of(session)
        found = await reads.users(asked)
        counts = await reads.participant_counts([*strangers, group])
        alone = await reads.participant_counts([group])
    assert sorted(u.username for u in found) == ["ann", "ben", "cat"]
    assert counts == dict.fromkeys(strangers, 0) | {group: 3}
    assert alone == {group: 3}

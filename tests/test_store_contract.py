"""The store's contract for sends: numbering, idempotency and refusal.

Every send goes through the node's one action, `services.send.send_message`, on
both of its paths: a plain text send is stored with others in a batch (the group
commit of `hubbub.actions.send_batch`), a reply (`parentMessageId`) in a transaction of
its own. The contract, whatever the path:

- a conversation's messages are numbered 1, 2, 3 … with no gap and no repeat, however
  many are sent at once, and a new message's `changeSeq` is its `seq`; a reply or an
  edit takes the conversation's next number as the changed message's `changeSeq`;
- an optimisticId sent again (after the first, or at the same time) stores nothing new
  and answers the original (`created` False); the same optimisticId for another
  conversation is a conflict (`duplicate_optimistic_id`);
- a send refused (not a participant: not found; muted: forbidden; a mention of a
  non-participant: invalid) stores nothing and takes no number: the rows in the
  database are counted.

These tests run on both backends without naming them: scripts/test runs the suite once
with HUBBUB_TEST_BACKEND=sqlite and once with HUBBUB_TEST_BACKEND=postgresql, so each is
checked against SQLite and against PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hubbub.actions.send import SendOutcome
from hubbub.app import Node
from hubbub.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hubbub.store.models import Conversation, Message
from hubbub.wire.models import (
    SendMessage,
)
from tests.chat import create_group
from tests.conftest import Account, RegisterFn, count_rows

# Sends at once in the concurrency tests.
MANY = 60

PATHS = ["batch", "single"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"send_rate_per_s": 10_000.0, "send_burst": 10_000}


@dataclass
class Room:
    """A group conversation and, for the single path, a message to reply to."""

    id: uuid.UUID
    root: uuid.UUID | None = None


@dataclass
class Sends:
    node: Node
    client: httpx.AsyncClient
    path: str

    async def room(self, owner: Account, *members: Account) -> Room:
        """A new group; on the single path its first message (seq 1) is the one every
        send of the test replies to."""
        room = Room(uuid.UUID(await create_group(self.client, owner, *members)))
        if self.path == "single":
            root = await self.plain(owner.id, room.id, "the thread's root")
            room.root = root.message.id
        return room

    async def send(
        self, sender: uuid.UUID, room: Room, content: str = "hi", **fields: Any
    ) -> SendOutcome:
        """A send on this test's path."""
        if self.path == "single":
            assert room.root is not None
            fields = {"parentMessageId": str(room.root), **fields}
        return await self.plain(sender, room.id, content, **fields)

    async def plain(
        self, sender: uuid.UUID, conversation_id: uuid.UUID, content: str, **fields: Any
    ) -> SendOutcome:
        req = SendMessage.model_validate({"content": content, **fields})
        return await self.node.services.send.send_message(sender, conversation_id, req)

    @property
    def first_seq(self) -> int:
        """The number of a room's first message sent by a test (the root is 1)."""
        return 1 if self.path == "batch" else 2

    @property
    def step(self) -> int:
        """Numbers one send takes: its own, and on the single path the root's change."""
        return 1 if self.path == "batch" else 2


@pytest.fixture(params=PATHS)
def sends(request: pytest.FixtureRequest, node: Node, client: httpx.AsyncClient) -> Sends:
    return Sends(node, client, request.param)


async def numbers(node: Node, conversation_id: uuid.UUID) -> list[tuple[int, int]]:
    """(seq, change_seq) of every stored message of the conversation, by seq."""
    async with node.services.db.read() as session:
        rows = await session.execute(
            select(Message.seq, Message.change_seq)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.seq)
        )
        return [(seq, change) for seq, change in rows.all()]


async def last_seq(node: Node, conversation_id: uuid.UUID) -> int:
    async with node.services.db.read() as session:
        value = await session.scalar(
            select(Conversation.last_seq).where(Conversation.id == conversation_id)
        )
        assert value is not None
        return int(value)


async def change_seq_of(node: Node, message_id: uuid.UUID) -> int:
    async with node.services.db.read() as session:
        value = await session.scalar(select(Message.change_seq).where(Message.id == message_id))
        assert value is not None
        return int(value)


async def refused(sending: Any) -> BaseException:
    try:
        await sending
    except Exception as exc:
        return exc
    pytest.fail("the send was stored")


# Numbering -----------------------------------------------------------------------------


async def test_concurrent_plain_sends_are_numbered_one_to_n(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    sends = Sends(node, client, "batch")
    room = await sends.room(ann, ben, cat)
    senders = [ann.id, ben.id, cat.id]

    outcomes = await asyncio.gather(
        *(sends.send(senders[i % 3], room, f"m{i}") for i in range(MANY))
    )

    assert all(o.created for o in outcomes)
    assert sorted(o.message.seq for o in outcomes) == list(range(1, MANY + 1))
    assert all(o.message.change_seq == o.message.seq for o in outcomes)
    assert len({o.message.id for o in outcomes}) == MANY
    assert await numbers(node, room.id) == [(n, n) for n in range(1, MANY + 1)]
    assert await last_seq(node, room.id) == MANY
    assert await count_rows(node, "messages") == MANY
    # They went through the group commit, in batches.
    batched = node.services.metrics.registry.get_sample_value("hubbub_send_batch_size_sum")
    assert batched == MANY


async def test_concurrent_replies_take_alternate_numbers(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    sends = Sends(node, client, "single")
    room = await sends.room(ann, ben)
    assert room.root is not None
    replies = MANY // 2

    outcomes = await asyncio.gather(
        *(sends.send((ann if i % 2 else ben).id, room, f"r{i}") for i in range(replies))
    )

    # Each reply takes a number, then the root's change takes the next: in one
    # transaction, so nothing else comes between them.
    assert all(o.created for o in outcomes)
    assert sorted(o.message.seq for o in outcomes) == list(range(2, 2 * replies + 2, 2))
    assert all(o.message.change_seq == o.message.seq for o in outcomes)
    assert await change_seq_of(node, room.root) == 2 * replies + 1
    assert await last_seq(node, room.id) == 2 * replies + 1
    assert await count_rows(node, "messages") == replies + 1


async def test_concurrent_sends_on_both_paths_share_one_numbering(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    single = Sends(node, client, "single")
    batch = Sends(node, client, "batch")
    room = await single.room(ann, ben)
    replies, plain = 15, MANY - 15

    outcomes = await asyncio.gather(
        *(single.send(ann.id, room, f"r{i}") for i in range(replies)),
        *(batch.send(ben.id, room, f"p{i}") for i in range(plain)),
    )

    reply_seqs = {o.message.seq for o in outcomes[:replies]}
    plain_seqs = {o.message.seq for o in outcomes[replies:]}
    root_changes = {seq + 1 for seq in reply_seqs}
    taken = [1, *reply_seqs, *plain_seqs, *root_changes]
    # Every number from 1 to the last is taken once: by a message or a root's change.
    assert sorted(taken) == list(range(1, len(taken) + 1))
    assert await last_seq(node, room.id) == len(taken) == 1 + 2 * replies + plain
    assert [seq for seq, _ in await numbers(node, room.id)] == sorted([1, *reply_seqs, *plain_seqs])


async def test_a_reply_or_an_edit_takes_the_next_number(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    sends = Sends(node, client, "batch")
    room = await sends.room(ann, ben)
    first = (await sends.send(ann.id, room, "first")).message
    second = (await sends.send(ben.id, room, "second")).message
    assert (first.seq, first.change_seq, second.seq, second.change_seq) == (1, 1, 2, 2)

    reply = (await sends.plain(ben.id, room.id, "a reply", parentMessageId=str(first.id))).message
    assert (reply.seq, reply.change_seq) == (3, 3)
    assert await change_seq_of(node, first.id) == 4

    edited = await node.services.message_changes.edit(ben.id, room.id, second.id, "second, edited")
    assert (edited.seq, edited.change_seq) == (2, 5)
    assert await change_seq_of(node, second.id) == 5
    # An edit that changes nothing takes no number.
    same = await node.services.message_changes.edit(ben.id, room.id, second.id, "second, edited")
    assert same.change_seq == 5

    after = (await sends.send(ann.id, room, "after")).message
    assert (after.seq, after.change_seq) == (6, 6)
    assert await numbers(node, room.id) == [(1, 4), (2, 5), (3, 3), (6, 6)]
    assert await last_seq(node, room.id) == 6


# Idempotency ---------------------------------------------------------------------------


async def test_an_optimistic_id_sent_again_answers_the_original(
    sends: Sends, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    room = await sends.room(ann, ben)
    rows = await count_rows(sends.node, "messages")

    first = await sends.send(ann.id, room, "once", optimisticId="key-1")
    again = await sends.send(ann.id, room, "other text, same key", optimisticId="key-1")

    assert first.created is True
    assert again.created is False
    assert again.message.id == first.message.id
    assert again.message.seq == first.message.seq == sends.first_seq
    assert again.message.content == "once"
    assert await count_rows(sends.node, "messages") == rows + 1
    assert await last_seq(sends.node, room.id) == sends.first_seq + sends.step - 1
    # The next send is numbered as if the repeat had never been sent.
    nxt = await sends.send(ann.id, room, "next")
    assert nxt.message.seq == sends.first_seq + sends.step


async def test_concurrent_sends_of_one_optimistic_id_store_one_message(
    sends: Sends, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    room = await sends.room(ann, ben)
    rows = await count_rows(sends.node, "messages")

    outcomes = await asyncio.gather(
        *(sends.send(ann.id, room, f"try {i}", optimisticId="same-key") for i in range(20))
    )

    assert sorted(o.created for o in outcomes) == [False] * 19 + [True]
    (original,) = [o.message for o in outcomes if o.created]
    assert {o.message.id for o in outcomes} == {original.id}
    assert {o.message.seq for o in outcomes} == {sends.first_seq}
    assert {o.message.content for o in outcomes} == {original.content}
    assert await count_rows(sends.node, "messages") == rows + 1
    assert await last_seq(sends.node, room.id) == sends.first_seq + sends.step - 1


async def test_an_optimistic_id_of_another_conversation_is_a_conflict(
    sends: Sends, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    here, there = await sends.room(ann, ben), await sends.room(ann, ben)
    await sends.send(ann.id, here, "here", optimisticId="key-1")
    rows = await count_rows(sends.node, "messages")
    there_seq = await last_seq(sends.node, there.id)

    clash = await refused(sends.send(ann.id, there, "there", optimisticId="key-1"))

    assert isinstance(clash, Conflict)
    assert clash.code == "duplicate_optimistic_id"
    assert await count_rows(sends.node, "messages") == rows
    assert await last_seq(sends.node, there.id) == there_seq
    # The key is its sender's: another sender may use the same string there.
    other = await sends.send(ben.id, there, "ben's", optimisticId="key-1")
    assert other.created is True


# Refusals ------------------------------------------------------------------------------


async def test_a_non_participant_is_told_not_found_and_nothing_is_stored(
    sends: Sends, register: RegisterFn
) -> None:
    ann, ben, eve = await register("ann"), await register("ben"), await register("eve")
    room = await sends.room(ann, ben)
    rows = await count_rows(sends.node, "messages")

    for attempt in (
        sends.send(eve.id, room, "let me in"),
        sends.send(eve.id, room, "let me in", optimisticId="eve-1"),
        sends.plain(eve.id, uuid.uuid4(), "nowhere"),
    ):
        assert isinstance(await refused(attempt), NotFound)

    assert await count_rows(sends.node, "messages") == rows
    assert await last_seq(sends.node, room.id) == sends.first_seq - 1
    nxt = await sends.send(ann.id, room, "next")
    assert nxt.message.seq == sends.first_seq


async def test_a_muted_participant_is_refused_and_nothing_is_stored(
    sends: Sends, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    room = await sends.room(ann, ben)
    muted = await sends.client.patch(
        f"/conversations/{room.id}/participants/{ben.id}",
        headers=ann.headers,
        json={"canSendMessages": False},
    )
    assert muted.status_code == 200, muted.text
    rows = await count_rows(sends.node, "messages")

    assert isinstance(await refused(sends.send(ben.id, room, "muted")), Forbidden)
    assert isinstance(
        await refused(sends.send(ben.id, room, "muted", optimisticId="ben-1")), Forbidden
    )

    assert await count_rows(sends.node, "messages") == rows
    assert await last_seq(sends.node, room.id) == sends.first_seq - 1
    nxt = await sends.send(ann.id, room, "next")
    assert nxt.message.seq == sends.first_seq


async def test_a_mention_of_a_non_participant_is_refused_and_nothing_is_stored(
    sends: Sends, register: RegisterFn
) -> None:
    ann, ben, eve = await register("ann"), await register("ben"), await register("eve")
    room = await sends.room(ann, ben)
    rows = await count_rows(sends.node, "messages")

    for mentions in ([str(eve.id)], [str(ben.id), str(eve.id)], [str(uuid.uuid4())]):
        failure = await refused(sends.send(ann.id, room, "hi there", mentions=mentions))
        assert isinstance(failure, ValidationFailed)

    assert await count_rows(sends.node, "messages") == rows
    assert await last_seq(sends.node, room.id) == sends.first_seq - 1
    # A mention of a participant is stored, numbered next.
    ok = await sends.send(ann.id, room, "hi ben", mentions=[str(ben.id)])
    assert ok.created is True
    assert ok.message.seq == sends.first_seq
    assert ok.message.mentions == [ben.id]

"""The group commit of sends (`hubbub.actions.send_batch`), batch by batch.

Each test hands the batcher one exact batch, so what is decided together is known:
numbering across conversations, sends refused alone while the rest commit, repeats of an
optimisticId inside one batch, the fallback when the batch loses a unique-constraint race,
and a database failure that fails the whole batch and stores nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from hubbub.actions import send_batch
from hubbub.actions.send_batch import SendBatcher
from hubbub.actions.send_rules import PendingSend
from hubbub.app import Node
from hubbub.domain.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from hubbub.store.models import Message
from hubbub.wire.models import (
    SendMessage,
)
from tests.chat import create_group, send
from tests.conftest import RegisterFn, count_rows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"send_rate_per_s": 1000.0, "send_burst": 1000}


def batcher_of(node: Node) -> SendBatcher:
    batcher: SendBatcher = node.services.send._batcher
    return batcher


def pending(sender: uuid.UUID, conversation_id: str, content: str, **fields: Any) -> PendingSend:
    req = SendMessage.model_validate({"content": content, **fields})
    return PendingSend(
        sender=sender,
        conversation_id=uuid.UUID(conversation_id),
        req=req,
        content=content,
        mentions=list(dict.fromkeys(req.mentions)),
        client_timestamp=None,
    )


async def outcome(p: PendingSend) -> Any:
    try:
        return await p.future
    except Exception as exc:
        return exc


async def seqs_of(node: Node, conversation_id: str) -> list[int]:
    async with node.services.db.read() as session:
        rows = await session.scalars(
            select(Message.seq)
            .where(Message.conversation_id == uuid.UUID(conversation_id))
            .order_by(Message.seq)
        )
        return list(rows.all())


async def test_one_batch_numbers_every_conversation_and_refuses_sends_alone(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben, cat, dan = [await register(n) for n in ("ann", "ben", "cat", "dan")]
    first = await create_group(client, ann, ben, dan, name="first")
    second = await create_group(client, ann, ben, name="second")
    await send(client, ann, first, "before", optimisticId="stored-before")
    muted = await client.patch(
        f"/conversations/{first}/participants/{dan.id}",
        headers=ann.headers,
        json={"canSendMessages": False},
    )
    assert muted.status_code == 200, muted.text

    batch = [
        a1 := pending(ann.id, first, "a1"),
        b1 := pending(ben.id, first, "b1"),
        a2 := pending(ann.id, second, "a2"),
        outsider := pending(cat.id, first, "not a member"),
        silenced := pending(dan.id, first, "muted"),
        bad_mention := pending(ann.id, first, "hi @cat", mentions=[str(cat.id)]),
        good_mention := pending(ben.id, first, "hi @ann", mentions=[str(ann.id)]),
        keyed := pending(ann.id, first, "keyed", optimisticId="k"),
        repeat := pending(ann.id, first, "keyed again", optimisticId="k"),
        elsewhere := pending(ann.id, second, "keyed elsewhere", optimisticId="k"),
        retry := pending(ann.id, first, "retry", optimisticId="stored-before"),
        b2 := pending(ben.id, second, "b2"),
    ]
    await batcher_of(node)._store_batch(batch)
    results = {id(p): await outcome(p) for p in batch}

    assert isinstance(results[id(outsider)], NotFound)
    assert isinstance(results[id(silenced)], Forbidden)
    assert isinstance(results[id(bad_mention)], ValidationFailed)
    assert isinstance(results[id(elsewhere)], Conflict)
    stored = [a1, b1, good_mention, keyed, a2, b2]
    for p in stored:
        view, created = results[id(p)]
        assert created is True
        assert view.content == p.content
        assert view.sender_id == p.sender
    # Numbers follow the batch's order within each conversation, with no gap.
    assert [results[id(p)][0].seq for p in (a1, b1, good_mention, keyed)] == [2, 3, 4, 5]
    assert [results[id(p)][0].seq for p in (a2, b2)] == [1, 2]
    repeat_view, repeat_created = results[id(repeat)]
    assert repeat_created is False
    assert repeat_view.id == results[id(keyed)][0].id
    retry_view, retry_created = results[id(retry)]
    assert retry_created is False
    assert retry_view.seq == 1
    assert retry_view.content == "before"

    assert await seqs_of(node, first) == [1, 2, 3, 4, 5]
    assert await seqs_of(node, second) == [1, 2]
    page = (await client.get(f"/conversations/{first}/messages", headers=ben.headers)).json()
    assert page["totalCount"] == 5
    listed = (await client.get(f"/conversations/{first}", headers=ben.headers)).json()
    assert listed["conversation"]["lastMessage"]["id"] == str(results[id(keyed)][0].id)


async def test_a_lost_unique_race_stores_each_send_alone_and_finds_the_original(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    original = await send(client, ann, cid, "first try", optimisticId="dup")
    batcher = batcher_of(node)
    real_originals = send_batch.split_originals

    def blind(stored: Any, admitted: list[PendingSend], outcomes: Any) -> Any:
        # As if the original committed on another node after this batch looked.
        return list(admitted), [], {}

    monkeypatch.setattr(send_batch, "split_originals", blind)
    batch = [pending(ben.id, cid, "other"), pending(ann.id, cid, "second try", optimisticId="dup")]
    await batcher._store_batch(batch)
    monkeypatch.setattr(send_batch, "split_originals", real_originals)

    other, retried = [await outcome(p) for p in batch]
    assert other[1] is True
    assert other[0].seq == 2
    assert retried[1] is False
    assert str(retried[0].id) == original["id"]
    assert await count_rows(node, "messages") == 2
    assert await seqs_of(node, cid) == [1, 2]


async def test_a_database_failure_fails_the_whole_batch_and_stores_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    await send(client, ann, cid, "before")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("UPDATE conversations", {}, Exception("disk I/O error"))

    monkeypatch.setattr(send_batch, "store_new_messages_txn", broken)
    batch = [pending(ann.id, cid, "lost 1"), pending(ben.id, cid, "lost 2", optimisticId="x")]
    await batcher_of(node)._store_batch(batch)
    results = [await outcome(p) for p in batch]
    assert all(isinstance(r, OperationalError) for r in results)
    assert await count_rows(node, "messages") == 1
    monkeypatch.undo()

    # Nothing was acknowledged: the client's retry with the same key is stored once.
    again = await send(client, ben, cid, "lost 2", optimisticId="x")
    assert again["seq"] == 2
    assert await seqs_of(node, cid) == [1, 2]


async def test_concurrent_sends_share_commits(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    messages = node.services.send
    metrics = node.services.metrics

    def batches() -> float:
        samples = metrics.send_batch_size.collect()[0].samples
        return sum(s.value for s in samples if s.name.endswith("_count"))

    before = batches()
    outcomes = await asyncio.gather(
        *(
            messages.send_message(ann.id, uuid.UUID(cid), SendMessage(content=f"m{i}"))
            for i in range(30)
        )
    )
    assert sorted(o.message.seq for o in outcomes) == list(range(1, 31))
    assert all(o.created for o in outcomes)
    # 30 sends waiting at once are stored in fewer commits than sends.
    assert batches() - before < 30
    async with node.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 30


async def test_the_batch_lookups_use_indexes(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    """The idempotency, access and mention lookups of a batch never scan `messages` or
    `conversation_participants` (EXPLAINed on the backend the suite runs on)."""
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    for i in range(50):
        await send(client, ben, cid, f"filler {i}", optimisticId=f"f{i}")
    db = node.services.db
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    engine = db.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        batch = [
            pending(ann.id, cid, "one", optimisticId="a"),
            pending(ben.id, cid, "two", optimisticId="f3", mentions=[str(ann.id)]),
            pending(ann.id, cid, "three", optimisticId="b", mentions=[str(ben.id)]),
        ]
        await batcher_of(node)._store_batch(batch)
        assert [(await outcome(p))[1] for p in batch] == [True, False, True]
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    # At least the access and idempotency lookup (one statement) and the mention lookup
    # (the retry's view reads follow on PostgreSQL, where reads and writes share an
    # engine).
    assert len(captured) >= 2
    scanned = ("SCAN messages", "SCAN conversation_participants")
    if db.capabilities.name != "sqlite":
        scanned = ("Seq Scan on messages", "Seq Scan on conversation_participants")
    scans: list[str] = []
    async with db.read_engine.connect() as conn:
        for statement, parameters in captured:
            if db.capabilities.name == "sqlite":
                rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = " | ".join(str(r[-1]) for r in rows.all())
                if any(s in plan for s in scanned):
                    scans.append(plan + "\n" + statement)
            else:
                # A few rows make a scan cheapest; asked to avoid scans, PostgreSQL still
                # scans when no index can serve the condition.
                await conn.exec_driver_sql("SET enable_seqscan = off")
                rows = await conn.exec_driver_sql("EXPLAIN " + statement, tuple(parameters))
                plan = " | ".join(str(r[0]) for r in rows.all())
                if any(s in plan for s in scanned):
                    scans.append(plan + "\n" + statement)
    assert not scans, "\n\n".join(scans)


async def test_a_send_waits_while_its_line_is_in_flight(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    """With several writers a later batch may commit first; so a send whose sender and
    conversation have a send in a batch still in flight stays queued until it is done."""
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    other = await create_group(client, ann, ben)
    batcher = batcher_of(node)
    queued = [
        pending(ann.id, cid, "ann 1"),
        pending(ben.id, cid, "ben 1"),
        pending(ann.id, other, "ann elsewhere"),
        pending(ann.id, cid, "ann 2"),
    ]
    batcher._queue.extend(queued)
    batcher._in_flight.add((ann.id, uuid.UUID(cid)))
    try:
        taken = batcher._take_batch()
        assert [p.content for p in taken] == ["ben 1", "ann elsewhere"]
        assert [p.content for p in batcher._queue] == ["ann 1", "ann 2"]
        batcher._in_flight.clear()
        assert [p.content for p in batcher._take_batch()] == ["ann 1", "ann 2"]
        assert not batcher._queue
    finally:
        batcher._queue.clear()
        batcher._in_flight.clear()


async def test_a_senders_pipelined_sends_are_numbered_in_order(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every other batch is slowed down, so that (with several writers, as on
    PostgreSQL) a later batch would commit first if it held the same sender's sends."""
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    batcher = batcher_of(node)
    real_access = send_batch.access_for_sending
    calls = 0

    async def uneven(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls % 2:
            await asyncio.sleep(0.02)
        return await real_access(*args)

    monkeypatch.setattr(send_batch, "access_for_sending", uneven)
    waits: list[asyncio.Future[Any]] = []
    for i in range(60):
        who = ben if i % 3 == 0 else ann
        waits.append(asyncio.ensure_future(batcher.submit(pending(who.id, cid, f"{i}"))))
        if i % 7 == 0:
            await asyncio.sleep(0.001)  # batches start while sends keep coming
    await asyncio.gather(*waits)
    async with node.services.db.read() as session:
        rows = (
            await session.execute(
                select(Message.sender_id, Message.content)
                .where(Message.conversation_id == uuid.UUID(cid))
                .order_by(Message.seq)
            )
        ).all()
    for who in (ann, ben):
        sent = [int(content) for sender, content in rows if sender == who.id]
        assert sent == sorted(sent)
        assert len(sent) == (40 if who is ann else 20)


async def test_a_send_is_shed_once_the_oldest_waiting_has_waited_too_long(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    """Overload: the queue is bounded in time. A send that finds the oldest one waiting
    for longer than `max_wait_s` is refused at once (`rate_limited`, its retryAfter about
    that wait, counted) and nothing of it is stored; what was admitted is stored."""
    ann, ben = await register("ann"), await register("ben")
    group = await create_group(client, ann, ben, name="busy")
    batcher = batcher_of(node)
    registry = node.services.metrics.registry
    shed_before = registry.get_sample_value("hubbub_sends_shed_total")

    old = pending(ann.id, group, "waited long")
    old.queued_at -= send_batch.MAX_QUEUE_WAIT_S + 3  # as if it had waited that long
    admitted = asyncio.ensure_future(batcher.submit(old))
    await asyncio.sleep(0)  # queued; the writer has not taken it yet
    late = pending(ben.id, group, "too late")
    with pytest.raises(RateLimited) as refused:
        await batcher.submit(late)

    assert refused.value.code == "rate_limited"
    assert refused.value.retry_after >= send_batch.MAX_QUEUE_WAIT_S + 3
    assert registry.get_sample_value("hubbub_sends_shed_total") == (shed_before or 0) + 1
    view, created = await asyncio.wait_for(admitted, 10)
    assert created is True
    assert view.content == "waited long"
    assert await seqs_of(node, group) == [view.seq]

    # Once the queue has drained, sends are admitted again.
    view, created = await asyncio.wait_for(batcher.submit(pending(ben.id, group, "later")), 10)
    assert created is True
    assert await seqs_of(node, group) == [view.seq - 1, view.seq]

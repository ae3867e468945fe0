"""The SDK's ordering (`hubbub.client.ordering`) on the cases a live run meets only by
chance: changes arriving out of order, twice, or both live and in a `sync`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hubbub.client import MessageDeleted, MessageUpdated, NewMessage
from hubbub.client.ordering import Ordering
from hubbub.wire.models import MessagePublic

CONVERSATION = uuid.uuid4()
SENDER = uuid.uuid4()
NOW = datetime.now(UTC)


def message(
    seq: int, change: int | None = None, *, status: str = "SENT", key: int = 0
) -> MessagePublic:
    return MessagePublic.model_validate(
        {
            "id": str(uuid.UUID(int=key or seq)),
            "conversationId": str(CONVERSATION),
            "senderId": str(SENDER),
            "sender": None,
            "type": "TEXT",
            "content": f"m{seq}",
            "status": status,
            "seq": seq,
            "changeSeq": change or seq,
            "parentMessageId": None,
            "threadId": None,
            "replyCount": 0,
            "attachments": [],
            "metadata": {},
            "mentions": [],
            "reactions": [],
            "clientTimestamp": None,
            "serverTimestamp": NOW,
            "createdAt": NOW,
            "updatedAt": NOW,
            "editedAt": None,
            "deletedAt": None,
            "optimisticId": None,
        }
    )


def kinds(events: list[NewMessage | MessageUpdated | MessageDeleted]) -> list[tuple[str, int]]:
    return [(type(e).__name__, e.message.change_seq) for e in events]


def test_out_of_order_changes_wait_for_the_missing_number_and_come_once() -> None:
    ordering = Ordering()
    ordering.track(CONVERSATION, 10)
    assert ordering.live(message(12)) == []
    assert ordering.gap(CONVERSATION)
    assert ordering.live(message(13)) == []
    assert kinds(ordering.live(message(11))) == [
        ("NewMessage", 11),
        ("NewMessage", 12),
        ("NewMessage", 13),
    ]
    assert not ordering.gap(CONVERSATION)
    assert ordering.live(message(12)) == []  # again: dropped
    assert ordering.live(message(5)) == []  # before the start: dropped
    assert ordering.duplicates == 2
    assert ordering.numbers() == {CONVERSATION: 13}


def test_a_sync_fills_a_gap_new_messages_first_in_seq_order_then_the_changes() -> None:
    ordering = Ordering()
    ordering.track(CONVERSATION, 10)
    assert kinds(ordering.live(message(11))) == [("NewMessage", 11)]
    assert ordering.live(message(15)) == []  # 12..14 missing
    assert ordering.live(message(17)) == []  # beyond what the sync will bring
    # The sync from 11 brings 12 and 14 as new; 13 (message 11 edited), and 13's own
    # creation is gone (superseded); message 12 was edited at 16 after being created.
    changes = [message(11, 13), message(14), message(15), message(12, 16, key=12)]
    events = ordering.synced(CONVERSATION, changes, last_seq=16)
    assert kinds(events) == [
        ("NewMessage", 16),  # message 12, in its latest form, first by seq
        ("NewMessage", 14),
        ("NewMessage", 15),
        ("MessageUpdated", 13),  # message 11 was handed on before: a change
        ("NewMessage", 17),  # was waiting above the sync's bound: now contiguous
    ]
    assert [e.message.seq for e in events if isinstance(e, NewMessage)] == [12, 14, 15, 17]
    assert ordering.numbers() == {CONVERSATION: 17}


def test_a_deletion_of_a_message_handed_on_is_a_deletion() -> None:
    ordering = Ordering()
    ordering.track(CONVERSATION, 0)
    ordering.live(message(1))
    assert kinds(ordering.live(message(1, 2, status="DELETED"))) == [("MessageDeleted", 2)]
    # A message from before the start that changes is a change, never new.
    ordering.track(other := uuid.uuid4(), 50)
    old = message(7, 51).model_copy(update={"conversation_id": other})
    assert kinds(ordering.live(old)) == [("MessageUpdated", 51)]

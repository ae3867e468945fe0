"""Pages of messages written as JSON without a model each (`hubbub.wire.message_json`)
say what the models say.

History pages, pages of changes and the `sync` ack write their messages straight from
the view fields (`hubbub.queries.history.message_views`); everything else validates a
`MessagePublic` and dumps it. For every kind of field value a view holds (ids as UUIDs
and as stored text, enums as members and as their text, instants in UTC and in another
zone, with and without a fraction, a sender that is gone, attachments with and without
a thumbnail, reactions, mentions, nested metadata), both must give the same JSON, key
for key and in the same order. `tests/test_history_views.py` checks the same through
the routes, against GET …/messages/:id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from hubbub.domain.enums import MessageStatus, MessageType
from hubbub.wire.message_json import EncodedChangesPage, EncodedMessagePage, messages_json
from hubbub.wire.models import ChangesPage, MessagePage, MessagePublic

CONVERSATION = uuid.uuid4()
SENDER = uuid.uuid4()
WHEN = datetime(2026, 12, 7, 3, 4, 5, 678901, tzinfo=UTC)


def _plain(seq: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "conversation_id": CONVERSATION,
        "sender_id": SENDER,
        "sender": {
            "id": SENDER,
            "username": "ann",
            "display_name": "Ann",
            "avatar": None,
            "is_bot": False,
        },
        "type": MessageType.TEXT,
        "content": f"message {seq}",
        "status": MessageStatus.SENT,
        "seq": seq,
        "change_seq": seq + 100,
        "parent_message_id": None,
        "thread_id": None,
        "reply_count": 0,
        "attachments": [],
        "metadata": {},
        "mentions": [],
        "reactions": [],
        "client_timestamp": None,
        "server_timestamp": WHEN,
        "created_at": WHEN,
        "updated_at": WHEN,
        "edited_at": None,
        "deleted_at": None,
        "optimistic_id": None,
    }
    return fields | changes


def _every_kind() -> list[dict[str, Any]]:
    root = uuid.uuid4()
    file_id = uuid.uuid4()
    other = uuid.uuid4()
    return [
        _plain(1),
        _plain(
            2,
            type="IMAGE",  # as the driver may give it: the stored text
            status="READ",
            content='files, 🎉 and "quotes"',
            attachments=[
                {
                    "id": file_id,
                    "url": f"/files/{file_id}/a.png?sig=x",
                    "filename": "a.png",
                    "size": 1234,
                    "mime_type": "image/png",
                    "width": 40,
                    "height": 30,
                    "thumbnail_url": f"/files/{file_id}/a.png?thumbnail=1",
                },
                {
                    "id": str(other),
                    "url": "/files/b",
                    "filename": "b.bin",
                    "size": 0,
                    "mime_type": "application/octet-stream",
                    "width": None,
                    "height": None,
                    "thumbnail_url": None,
                },
            ],
            metadata={"k": [1, 2.5, None, "é", {"deep": True}]},
            mentions=[SENDER, str(other).upper()],
            reactions=[
                {"emoji": "🎉", "count": 2, "user_ids": [SENDER, other]},
                {"emoji": "👍", "count": 1, "user_ids": [str(other)]},
            ],
            client_timestamp=datetime(2026, 12, 7, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            optimistic_id="opt-1",
        ),
        _plain(3, parent_message_id=root, thread_id=root, reply_count=0, edited_at=WHEN),
        _plain(4, thread_id=root, reply_count=7, status=MessageStatus.DELIVERED),
        _plain(
            5,
            sender=None,  # the sender's account is gone
            content="",
            status=MessageStatus.DELETED,
            deleted_at=WHEN + timedelta(seconds=1),
            updated_at=datetime(2026, 12, 7, 3, 4, 6, tzinfo=UTC),  # no fraction
        ),
    ]


@pytest.mark.parametrize("index", range(5))
def test_a_message_is_written_as_its_model_writes_it(index: int) -> None:
    fields = _every_kind()[index]
    (written,) = messages_json([fields])
    expected = MessagePublic.model_validate(fields).wire()
    assert written == expected
    assert list(written) == list(expected)
    assert orjson.dumps(written) == orjson.dumps(expected)


def test_a_history_page_is_its_model_byte_for_byte() -> None:
    views = _every_kind()
    page = EncodedMessagePage(messages_json(views), has_more=True, total_count=42)
    model = MessagePage.model_validate({"messages": views, "has_more": True, "total_count": 42})
    assert orjson.loads(page.json()) == model.model_dump(mode="json", by_alias=True)
    ascii_only = [views[0], views[2], views[3], views[4]]  # float and escape free
    plain = EncodedMessagePage(messages_json(ascii_only), has_more=False, total_count=4)
    expected = MessagePage.model_validate(
        {"messages": ascii_only, "has_more": False, "total_count": 4}
    ).model_dump_json(by_alias=True)
    assert plain.json() == expected.encode()


def test_a_page_of_changes_is_its_model() -> None:
    views = _every_kind()
    page = EncodedChangesPage(messages_json(views), last_seq=105, has_more=False)
    model = ChangesPage.model_validate({"changes": views, "last_seq": 105, "has_more": False})
    assert page.wire() == model.wire()
    assert orjson.loads(page.json()) == model.wire()
    empty = EncodedChangesPage([], last_seq=7, has_more=False)
    assert empty.wire() == {"changes": [], "lastSeq": 7, "hasMore": False}

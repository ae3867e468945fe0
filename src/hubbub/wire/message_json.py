"""Pages of messages (history, changes, resume) as JSON, made from their view fields.

`hubbub.queries.history` and `hubbub.queries.changes` -> here -> the HTTP edge (`json`)
or the `sync` ack (`wire`). A page's messages come from the driver as dicts of
`MessagePublic`'s fields (`hubbub.queries.history.message_views`). Validating a page
of 50 into models and dumping them again cost 1.1 ms, a quarter of a history page's
server CPU and 8 % of a reconnect storm's (profiles of `hubbub bench storm` and
`bench/page_cpu.py`); this writes the same JSON in 0.3 ms. The models stay the
schema: `MessagePage` and `ChangesPage` are the routes' response models, and
`tests/test_message_json.py` holds this to `MessagePublic.wire()` for every kind of
field, key for key and in the same order. Each page formats each id and instant once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hubbub.wire.fields import iso_utc

# The JSON of one message: `MessagePublic.wire()`'s, key for key.
MessageJson = dict[str, Any]


class _Texts:
    """Ids, instants and senders as their JSON, each distinct one made once per page (a
    page is one conversation's: its id, its few senders and its repeated instants are
    looked up rather than formatted again)."""

    def __init__(self) -> None:
        self._ids: dict[Any, str] = {}
        self._times: dict[datetime, str] = {}
        self._senders: dict[int, dict[str, Any]] = {}

    def id(self, value: Any) -> str:
        text = self._ids.get(value)
        if text is None:
            # A stored id may come back as text (a JSON column's list); the model reads
            # it as a UUID and writes it in its canonical form.
            as_uuid = uuid.UUID(value) if isinstance(value, str) else value
            text = self._ids[value] = str(as_uuid)
        return text

    def optional_id(self, value: Any) -> str | None:
        return None if value is None else self.id(value)

    def time(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        text = self._times.get(value)
        if text is None:
            text = self._times[value] = iso_utc(value)
        return text

    def sender(self, fields: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A sender's JSON, made once per dict of fields (a page's views share one per
        sender, and hold them all while the page is made, so no two share an `id`)."""
        if fields is None:
            return None
        shown = self._senders.get(id(fields))
        if shown is None:
            shown = self._senders[id(fields)] = {
                "id": self.id(fields["id"]),
                "username": fields["username"],
                "displayName": fields["display_name"],
                "avatar": fields["avatar"],
                "isBot": fields["is_bot"],
            }
        return shown


def _attachment(fields: Mapping[str, Any], texts: _Texts) -> dict[str, Any]:
    return {
        "id": texts.id(fields["id"]),
        "url": fields["url"],
        "filename": fields["filename"],
        "size": fields["size"],
        "mimeType": fields["mime_type"],
        "width": fields["width"],
        "height": fields["height"],
        "thumbnailUrl": fields["thumbnail_url"],
    }


def _reaction(fields: Mapping[str, Any], texts: _Texts) -> dict[str, Any]:
    return {
        "emoji": fields["emoji"],
        "count": fields["count"],
        "userIds": [texts.id(u) for u in fields["user_ids"]],
    }


def messages_json(views: Sequence[Mapping[str, Any]]) -> list[MessageJson]:
    """Each view (a dict of `MessagePublic`'s fields) as `MessagePublic.wire()` gives it.
    `type` and `status` stay as they are: a member of a `StrEnum` is its text."""
    texts = _Texts()
    time, optional_id = texts.time, texts.optional_id
    return [
        {
            "id": str(f["id"]),  # one per message: nothing to share
            "conversationId": texts.id(f["conversation_id"]),
            "senderId": texts.id(f["sender_id"]),
            "sender": texts.sender(f["sender"]),
            "type": f["type"],
            "content": f["content"],
            "status": f["status"],
            "seq": f["seq"],
            "changeSeq": f["change_seq"],
            "parentMessageId": optional_id(f["parent_message_id"]),
            "threadId": optional_id(f["thread_id"]),
            "replyCount": f["reply_count"],
            "attachments": [_attachment(a, texts) for a in f["attachments"]],
            "metadata": f["metadata"],
            "mentions": [texts.id(m) for m in f["mentions"]],
            "reactions": [_reaction(r, texts) for r in f["reactions"]],
            "clientTimestamp": time(f["client_timestamp"]),
            "serverTimestamp": time(f["server_timestamp"]),
            "createdAt": time(f["created_at"]),
            "updatedAt": time(f["updated_at"]),
            "editedAt": time(f["edited_at"]),
            "deletedAt": time(f["deleted_at"]),
            "optimisticId": f["optimistic_id"],
        }
        for f in views
    ]


@dataclass(frozen=True)
class EncodedMessagePage:
    """A history page (`MessagePage`'s fields), its messages already JSON."""

    messages: list[MessageJson]
    has_more: bool
    total_count: int

    def json(self) -> bytes:
        return orjson.dumps(
            {"messages": self.messages, "hasMore": self.has_more, "totalCount": self.total_count}
        )


@dataclass(frozen=True)
class EncodedChangesPage:
    """A page of changes (`ChangesPage`'s fields), its messages already JSON."""

    changes: list[MessageJson]
    last_seq: int
    has_more: bool

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict, as the `sync` ack carries it."""
        return {"changes": self.changes, "lastSeq": self.last_seq, "hasMore": self.has_more}

    def json(self) -> bytes:
        return orjson.dumps(self.wire())

"""GET /conversations' answer, encoded from the JSON its conversations were made as.

`hubbub.queries.conversations.ConversationQueries.list_for` -> here -> the HTTP edge,
which sends `json()`. `ConversationList` is the route's response model (its schema);
the page's conversations come as JSON values already
(`hubbub.queries.presenters.conversation_json`), since a model per conversation, per
last message and per participant was most of a page of 100 conversations' time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class EncodedConversationList:
    """A page of the list: `ConversationList`'s fields, its conversations as JSON."""

    conversations: Sequence[dict[str, Any]]
    total: int
    next_cursor: str | None

    def json(self) -> bytes:
        return orjson.dumps(
            {
                "conversations": self.conversations,
                "total": self.total,
                "nextCursor": self.next_cursor,
            }
        )

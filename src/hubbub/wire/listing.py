"""GET /conversations' answer, encoded with its participants made outside the models.

`hubbub.queries.conversations.ConversationQueries.list_for` -> here -> the HTTP edge,
which sends `json()`. The page is a `ConversationList` (its schema is the route's
response model); only each conversation's `participants` come as JSON values already
(`hubbub.queries.participant_rows`), since a model per participant was most of a page
of 100 conversations' time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hubbub.wire.models import ConversationList


@dataclass(frozen=True)
class EncodedConversationList:
    """`page` with its conversations' participants left empty, and those participants,
    per conversation in page order."""

    page: ConversationList
    participants: Sequence[list[dict[str, Any]]]

    def json(self) -> bytes:
        body = self.page.model_dump(mode="json", by_alias=True)
        for conversation, shown in zip(body["conversations"], self.participants, strict=True):
            conversation["participants"] = shown
        return orjson.dumps(body)

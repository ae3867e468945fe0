"""The participants a page of conversations shows: from their rows to views or to JSON.

`hubbub.queries.views.Views` -> here, with the rows of `hubbub.store.participant_reads`
and each user's view made once. An event or one conversation gets `ParticipantPublic`
models (`models`). The conversation list gets each participant as the JSON those models
give (`json_values`), made from the rows without a model in between: a page of 100
conversations carries 2,000 participants, and validating and dumping a model for each
was most of the page's time (a profile of 20 pages: 47 % in the participants, 15 % in
the page's JSON). Each distinct stored value (an id, an instant, a flag) is turned into
its JSON once per page, and each user's JSON is made once and reused as an
`orjson.Fragment`. `tests/test_participant_rows.py` holds the two to one answer.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hubbub.domain.ids import utcnow
from hubbub.domain.notify_rules import notifications_on
from hubbub.store.participant_reads import PARTICIPANT_VIEW_COLUMNS, ParticipantRows
from hubbub.wire.fields import iso_utc
from hubbub.wire.models import ParticipantPublic, UserPublic

# The JSON of one participant: `ParticipantPublic`'s, key for key.
ParticipantJson = dict[str, Any]

_COLUMN = {name: i for i, name in enumerate(PARTICIPANT_VIEW_COLUMNS)}


def _json_value(value: Any) -> Any:
    """A stored value, as its type came back from the database, as the models write it."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


# The columns that are a participant view's fields of the same name: (position, name).
_SHOWN = list(enumerate(PARTICIPANT_VIEW_COLUMNS))[1:12]
_CONVERSATION, _USER, _NOTIFY_LEVEL, _MUTED_UNTIL = (
    _COLUMN[name] for name in ("conversation_id", "user_id", "notify_level", "muted_until")
)


@dataclass
class ShownParticipants:
    """The participants of a page's conversations, per conversation in join order, with
    each user's view as the viewer sees it. A participant whose user is not in `users`
    (deleted between the two reads) is left out.

    The rows are read a column at a time: each column's distinct values are converted
    once, and the per-row work is lookups and zips that run in C (per row calls of
    Python were 40 % of the JSON's time)."""

    conversation_ids: Sequence[uuid.UUID]
    rows: ParticipantRows
    users: Mapping[uuid.UUID, UserPublic]

    def __post_init__(self) -> None:
        columns = list(zip(*self.rows.rows, strict=True))
        self._columns: list[tuple[Any, ...]] = columns or [() for _ in PARTICIPANT_VIEW_COLUMNS]
        self._typed_of: dict[int, dict[Any, Any]] = {}

    def _typed_values(self, column: int) -> dict[Any, Any]:
        """Each distinct value of a column, as its type returns it."""
        found = self._typed_of.get(column)
        if found is None:
            process = self.rows.processors[column]
            found = self._typed_of[column] = {
                raw: raw if raw is None or process is None else process(raw)
                for raw in set(self._columns[column])
            }
        return found

    def _typed(self, column: int) -> list[Any]:
        return list(map(self._typed_values(column).__getitem__, self._columns[column]))

    def _json(self, column: int) -> list[Any]:
        as_json = {raw: _json_value(v) for raw, v in self._typed_values(column).items()}
        return list(map(as_json.__getitem__, self._columns[column]))

    def _notifications_enabled(self) -> list[bool]:
        now = utcnow()
        levels, muted = self._typed_values(_NOTIFY_LEVEL), self._typed_values(_MUTED_UNTIL)
        pairs = list(zip(self._columns[_NOTIFY_LEVEL], self._columns[_MUTED_UNTIL], strict=True))
        enabled = {
            (level, until): notifications_on(levels[level], muted[until], now)
            for level, until in set(pairs)
        }
        return list(map(enabled.__getitem__, pairs))

    def user_ids(self) -> set[uuid.UUID]:
        return set(self._typed_values(_USER).values())

    def _raw_keyed(self, column: int, typed: Mapping[uuid.UUID, Any]) -> dict[Any, Any]:
        """`typed`'s values keyed by the column's stored values rather than by the ids
        they stand for. Per-row lookups go by the stored value: on SQLite a `str`, whose
        hash Python caches, where a `uuid.UUID` computes its hash in Python each time
        (2,000 rows made ~10,000 of those calls a page)."""
        return {
            raw: typed[value] for raw, value in self._typed_values(column).items() if value in typed
        }

    def members_of(self, conversations: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """The users taking part in any of these conversations."""
        wanted = self._raw_keyed(_CONVERSATION, dict.fromkeys(conversations, True))
        pairs = zip(self._columns[_CONVERSATION], self._columns[_USER], strict=True)
        users = self._typed_values(_USER)
        return {users[user] for user in {user for c, user in pairs if c in wanted}}

    def models(self) -> dict[uuid.UUID, list[ParticipantPublic]]:
        result: dict[uuid.UUID, list[ParticipantPublic]] = {c: [] for c in self.conversation_ids}
        names = [name for _, name in _SHOWN]
        fields = zip(*(self._typed(i) for i, _ in _SHOWN), strict=True)
        rows = zip(self._typed(_CONVERSATION), fields, self._notifications_enabled(), strict=True)
        for conversation, values, enabled in rows:
            view = dict(zip(names, values, strict=True))
            user = self.users.get(view["user_id"])
            if user is not None:
                view.update(user=user, notifications_enabled=enabled)
                result[conversation].append(ParticipantPublic.model_validate(view))
        return result

    def json_values(self) -> dict[uuid.UUID, list[ParticipantJson]]:
        result: dict[uuid.UUID, list[ParticipantJson]] = {c: [] for c in self.conversation_ids}
        of_conversation = self._raw_keyed(_CONVERSATION, result)
        fragments = self._raw_keyed(
            _USER,
            {uid: orjson.Fragment(view.model_dump_json()) for uid, view in self.users.items()},
        )
        users = list(map(fragments.get, self._columns[_USER]))
        rows = zip(
            map(of_conversation.__getitem__, self._columns[_CONVERSATION]),
            users,
            *(self._json(i) for i, _ in _SHOWN),
            self._notifications_enabled(),
            strict=True,
        )
        # A dict display, not dict(zip(keys, row)): half the time for 2,000 of them.
        for (
            listed,
            user,
            user_id,
            role,
            status,
            joined_at,
            last_read_at,
            last_read_message_id,
            last_read_seq,
            can_send_messages,
            can_upload_files,
            can_add_members,
            can_remove_members,
            notifications_enabled,
        ) in rows:
            if user is not None:
                listed.append(
                    {
                        "userId": user_id,
                        "user": user,
                        "role": role,
                        "status": status,
                        "joinedAt": joined_at,
                        "lastReadAt": last_read_at,
                        "lastReadMessageId": last_read_message_id,
                        "lastReadSeq": last_read_seq,
                        "canSendMessages": can_send_messages,
                        "canUploadFiles": can_upload_files,
                        "canAddMembers": can_add_members,
                        "canRemoveMembers": can_remove_members,
                        "notificationsEnabled": notifications_enabled,
                    }
                )
        return result

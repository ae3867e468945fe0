"""Exactly once, in order: what the client makes of live message events and `sync`.

Every change to a conversation's messages takes the conversation's next number (a new
message its `seq`, every change the message's `changeSeq`; docs/socket-protocol.md,
Resume). Per conversation the client keeps its *highest contiguous* number N: it has
handed on every change numbered N or below. A live change numbered N+1 is handed on at
once; one above N+1 waits in `pending` until the numbers between have come, or until a
`sync` from N (which the client asks for when a gap stays open, and after every
reconnect) has brought them. A change at or below N was handed on already and is
dropped, so nothing comes twice.

A message is announced as `NewMessage` the first time any form of it is handed on, and
a resume hands on the messages it brings in `seq` order, then the other changes in
number order, so a program sees every message once, in order, and then its changes.
This module does no I/O: the live connection (`hubbub.client.live`) feeds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from hubbub.client.events import MessageDeleted, MessageEvent, MessageUpdated, NewMessage
from hubbub.wire.models import MessagePublic

# Ids remembered per conversation to tell a message's first appearance from its later
# changes; past this the oldest half is forgotten (a change to a message that old,
# arriving after a sync that skipped past its number, would then come as NewMessage).
_REMEMBERED = 50_000


@dataclass
class Position:
    """One conversation's state: `contiguous` is N; `floor` the N the client started
    from (messages numbered at or below it existed before it came, and are never new)."""

    contiguous: int
    floor: int
    pending: dict[int, MessagePublic] = field(default_factory=dict)
    announced: dict[uuid.UUID, None] = field(default_factory=dict)
    syncing: bool = False


class Ordering:
    def __init__(self) -> None:
        self.positions: dict[uuid.UUID, Position] = {}
        self.duplicates = 0  # changes received again and dropped (for the curious)

    def track(self, conversation_id: uuid.UUID, upto: int) -> None:
        """Start following a conversation from number `upto` (kept if already followed)."""
        if conversation_id not in self.positions:
            self.positions[conversation_id] = Position(contiguous=upto, floor=upto)

    def forget(self, conversation_id: uuid.UUID) -> None:
        self.positions.pop(conversation_id, None)

    def numbers(self) -> dict[uuid.UUID, int]:
        """The highest contiguous number of every followed conversation (what a program
        may store and give back to `connect(resume_from=...)`)."""
        return {cid: p.contiguous for cid, p in self.positions.items()}

    def live(self, message: MessagePublic) -> list[MessageEvent]:
        """A change heard live (an event, or the ack of the client's own send)."""
        position = self.positions.get(message.conversation_id)
        if position is None:
            # A conversation not followed yet (its `conversation_created` is still on
            # its way): it is followed from just before this change.
            start = message.change_seq - 1
            position = self.positions[message.conversation_id] = Position(start, start)
        if message.change_seq <= position.contiguous or message.change_seq in position.pending:
            self.duplicates += 1
            return []
        position.pending[message.change_seq] = message
        return self._drain(position)

    def gap(self, conversation_id: uuid.UUID) -> bool:
        """Whether changes wait for a lower number that has not come."""
        position = self.positions.get(conversation_id)
        return position is not None and bool(position.pending)

    def synced(
        self, conversation_id: uuid.UUID, changes: Iterable[MessagePublic], last_seq: int
    ) -> list[MessageEvent]:
        """Every change above the number `sync` was asked from, up to `last_seq`."""
        position = self.positions.get(conversation_id)
        if position is None:
            return []
        position.syncing = False
        fresh = [m for m in changes if m.change_seq > position.contiguous]
        self.duplicates += sum(1 for n in position.pending if n <= last_seq)
        new = sorted((m for m in fresh if self._is_new(position, m)), key=lambda m: m.seq)
        rest = sorted((m for m in fresh if not self._is_new(position, m)), key=_change)
        events = [self._announce(position, m) for m in (*new, *rest)]
        position.contiguous = max(position.contiguous, last_seq)
        position.pending = {n: m for n, m in position.pending.items() if n > position.contiguous}
        return events + self._drain(position)

    # ---------------------------------------------------------------------------------

    def _drain(self, position: Position) -> list[MessageEvent]:
        events: list[MessageEvent] = []
        while (following := position.pending.pop(position.contiguous + 1, None)) is not None:
            position.contiguous += 1
            events.append(self._announce(position, following))
        return events

    @staticmethod
    def _is_new(position: Position, message: MessagePublic) -> bool:
        return message.seq > position.floor and message.id not in position.announced

    def _announce(self, position: Position, message: MessagePublic) -> MessageEvent:
        new = self._is_new(position, message)
        if message.seq > position.floor:
            position.announced[message.id] = None
            if len(position.announced) > _REMEMBERED:
                for old in list(position.announced)[: _REMEMBERED // 2]:
                    del position.announced[old]
        kind: type[MessageEvent]
        if new:
            kind = NewMessage
        elif message.status.value == "DELETED":
            kind = MessageDeleted
        else:
            kind = MessageUpdated
        return kind(message=message, conversation_id=message.conversation_id)


def _change(message: MessagePublic) -> int:
    return message.change_seq

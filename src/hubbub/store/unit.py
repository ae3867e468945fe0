"""The unit of work: a write transaction and the events it publishes once committed.

An action registers the events of its change with `emit(session, ...)` inside its
`Database.write()` block (or `RawBatch.emit` in the group commit); the block's
commit hands them to the event sink (the bus), in order, and a block that fails drops
them with the transaction. So an event can only ever tell of a committed change:
publishing before commit is not avoided by care, it cannot be written (Zulip's
`send_event_on_commit`, made the only way to publish).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.events.catalog import ServerEvent
from hubbub.events.sink import EventSink

_EVENTS = "hubbub.events"


def emit(session: AsyncSession, *events: ServerEvent) -> None:
    """Publish `events` when this write session commits (and never if it does not)."""
    pending: list[ServerEvent] = session.info.setdefault(_EVENTS, [])
    pending.extend(events)


def take_emitted(session: AsyncSession) -> list[ServerEvent]:
    taken: list[ServerEvent] = session.info.pop(_EVENTS, [])
    return taken


async def publish_committed(sink: EventSink | None, events: Sequence[ServerEvent]) -> None:
    if not events:
        return
    if sink is None:
        raise RuntimeError("events emitted on a database opened without an event sink")
    await sink.publish(events)

"""Where committed events go: the one method the store needs of the bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hubbub.events.catalog import ServerEvent


class EventSink(Protocol):
    async def publish(self, events: Sequence[ServerEvent]) -> None:
        """Deliver `events`, in order; called only after the change they tell of is
        committed. Never raises for a delivery problem (the database is the truth)."""

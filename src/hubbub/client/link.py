"""The parts of the live connection (`hubbub.client.live`) that hold no state of it: its
counters, what it hands events to, and how a socket is closed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import socketio

from hubbub.client.events import Event
from hubbub.wire.models import MessagePublic


class Sink(Protocol):
    def publish(self, event: Event) -> None: ...

    async def joined(self) -> dict[uuid.UUID, int]:
        """Every conversation of the user now, with the number to follow a new one from."""
        ...


@dataclass
class Stats:
    """What the connection went through: for logs, tests and the curious."""

    connects: int = 0
    disconnects: int = 0
    resumes: int = 0  # sync rounds after a reconnect
    gap_syncs: int = 0  # syncs for a gap that stayed open
    resent: int = 0  # unacknowledged sends sent again after a reconnect


@dataclass
class Outgoing:
    payload: dict[str, Any]
    done: asyncio.Future[MessagePublic]


async def dispose(sio: socketio.AsyncClient) -> None:
    """Close a socket and its HTTP session (python-socketio leaves that one open)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sio.disconnect(), 5)
    http = getattr(sio.eio, "http", None)
    if http is not None and not http.closed:
        await http.close()

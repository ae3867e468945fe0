"""Identifiers and the clock: how new rows are named and timed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import uuid6


def new_id() -> uuid.UUID:
    """A time-ordered (v7) UUID, so new rows land at the end of their indexes."""
    value: uuid.UUID = uuid6.uuid7()
    return uuid.UUID(bytes=value.bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)

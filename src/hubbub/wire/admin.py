"""The server administration's payloads (`/admin/...`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from hubbub.wire.fields import Timestamp, WireModel


class AccountStatus(WireModel):
    """An account as its administrators see it: who, and whether it may sign in."""

    user_id: uuid.UUID
    username: str
    is_active: bool
    is_admin: bool


class AccountStatusEnvelope(WireModel):
    account: AccountStatus


class AdminUser(WireModel):
    """An account in the administration's lists: every account, deactivated and deleted
    ones too."""

    id: uuid.UUID
    username: str
    display_name: str | None
    email: str
    is_active: bool
    is_admin: bool
    is_deleted: bool
    created_at: Timestamp
    last_seen_at: Timestamp | None
    # A bot user and who made it (docs/integrations.md): every bot is listed here.
    is_bot: bool
    bot_owner_id: uuid.UUID | None


class AdminUserEnvelope(WireModel):
    user: AdminUser


class AdminUserPage(WireModel):
    """A page of accounts by username; `nextCursor` asks for the next one (null: the end)."""

    users: list[AdminUser]
    next_cursor: str | None


class UserCounts(WireModel):
    total: int
    active: int
    deactivated: int
    active_last_day: int


class DayCount(WireModel):
    day: date
    messages: int


class StorageUsed(WireModel):
    files: int
    bytes: int


class ServerStats(WireModel):
    """The server in numbers. Accounts deleted by their owners are not counted;
    `activeLastDay` counts accounts seen or signed in within the last 24 hours;
    `messagesPerDay` covers the last 14 UTC days, today last."""

    users: UserCounts
    conversations: int
    messages_per_day: list[DayCount]
    storage: StorageUsed


class AuditEntry(WireModel):
    """One administrator's action. `actorName` is "the terminal" for the operator's
    commands (no `actorId`, no `address`)."""

    id: uuid.UUID
    at: Timestamp
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    target_id: uuid.UUID | None
    target_name: str | None
    details: dict[str, Any]
    address: str | None


class AuditPage(WireModel):
    """The audit log, newest first; `nextCursor` asks for older entries (null: the end)."""

    entries: list[AuditEntry]
    next_cursor: str | None

"""The server administration's payloads (`/admin/...`)."""

from __future__ import annotations

import uuid

from hubbub.wire.fields import WireModel


class AccountStatus(WireModel):
    """An account as its administrators see it: who, and whether it may sign in."""

    user_id: uuid.UUID
    username: str
    is_active: bool
    is_admin: bool


class AccountStatusEnvelope(WireModel):
    account: AccountStatus

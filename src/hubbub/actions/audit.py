"""Who did an administrator's action, and its line in the audit log.

Every administrative action (`hubbub.actions.admin`, `hubbub.actions.password_reset`)
records itself with `record` inside its own unit of work: the line exists exactly when
the change does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.admin import add_audit_txn
from hubbub.store.models import User

TERMINAL = "the terminal"


@dataclass(frozen=True)
class Actor:
    """An administrator over HTTP (their id, the client's address), or the operator at
    the terminal (no id, no address)."""

    user_id: uuid.UUID | None = None
    address: str | None = None

    @classmethod
    def terminal(cls) -> Actor:
        return cls()


async def record(
    session: AsyncSession,
    actor: Actor,
    actor_user: User | None,
    action: str,
    target: User | None,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    await add_audit_txn(
        session,
        actor_id=actor.user_id,
        actor_name=actor_user.username if actor_user is not None else TERMINAL,
        action=action,
        target=target,
        details=details or {},
        client_address=actor.address,
    )

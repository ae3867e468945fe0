"""Who may administer accounts: pure rules, one condition per line.

The rules of conversations and spaces are in `hubbub.domain.rules`; these are the
server-wide ones. A server administrator is not a role anywhere: being one opens no
conversation and no space.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from hubbub.domain.errors import Conflict, Forbidden, HubbubError, NotFound


class Account(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def is_admin(self) -> bool: ...

    @property
    def is_active(self) -> bool: ...


def not_server_admin() -> NotFound:
    """What anyone but an active administrator hears of `/admin`: nothing is there, as
    for a conversation they are not in."""
    return NotFound()


def user_not_found() -> NotFound:
    return NotFound("User not found", code="user_not_found")


def _not_an_active_admin(actor: Account | None) -> NotFound | None:
    if actor is None:
        return not_server_admin()
    if not actor.is_admin:
        return not_server_admin()
    if not actor.is_active:
        return not_server_admin()
    return None


def require_admin(actor: Account | None) -> None:
    """May `actor` use the administration at all?"""
    if refusal := _not_an_active_admin(actor):
        raise refusal


def status_change_refusal(actor: Account, target: Account) -> HubbubError | None:
    """May `actor` deactivate or reactivate `target`?"""
    if refusal := _not_an_active_admin(actor):
        return refusal
    if actor.id == target.id:
        return Forbidden("You cannot change your own account's status", code="own_account")
    return None


def require_can_change_status(actor: Account, target: Account) -> None:
    refusal = status_change_refusal(actor, target)
    if refusal is not None:
        raise refusal


def require_can_end_sessions(actor: Account) -> None:
    """May `actor` end every session of another account (their own too)?"""
    require_admin(actor)


def reset_link_refusal(actor: Account, target: Account) -> HubbubError | None:
    """May `actor` issue a one-time password-reset link for `target`?"""
    if refusal := _not_an_active_admin(actor):
        return refusal
    if not target.is_active:
        return Conflict("This account is deactivated", code="account_deactivated")
    return None


def require_can_issue_reset_link(actor: Account, target: Account) -> None:
    refusal = reset_link_refusal(actor, target)
    if refusal is not None:
        raise refusal


def last_admin_refusal(target: Account, other_active_admins: int) -> HubbubError | None:
    """May `target` stop being an active administrator (deactivated, demoted, deleted)?
    Not if they are the last one: the server would be left with nobody to run it."""
    if not target.is_admin:
        return None
    if not target.is_active:
        return None
    if other_active_admins > 0:
        return None
    return Conflict(
        "This is the last active administrator: make another one first",
        code="last_admin",
    )


def require_not_last_admin(target: Account, other_active_admins: int) -> None:
    refusal = last_admin_refusal(target, other_active_admins)
    if refusal is not None:
        raise refusal

"""What an API token may do, and who may manage a bot: pure rules, one condition per line.

An API token (personal or a bot's) holds some of three scopes: `read` (every GET and
receiving socket events), `send` (messages, edits, reactions, read markers, typing,
uploads) and `manage` (everything else: conversations, settings, tokens, bots). A
session of a password login holds all three. The edges ask `scope_for_http` or
`scope_for_socket_event` what a call needs and `scope_refusal` whether the caller has it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection

from hubbub.domain.errors import Forbidden, HubbubError, NotFound


class Scope(enum.StrEnum):
    READ = "read"
    SEND = "send"
    MANAGE = "manage"


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)

# The route templates (as the HTTP edge declares them) whose writes are a `send`.
_MESSAGE = "/conversations/{conversation_id}/messages/{message_id}"
SEND_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/conversations/{conversation_id}/messages"),
        ("PATCH", _MESSAGE),
        ("DELETE", _MESSAGE),
        ("PUT", _MESSAGE + "/read"),
        ("POST", _MESSAGE + "/reactions"),
        ("DELETE", _MESSAGE + "/reactions/{emoji}"),
        ("POST", "/files/upload"),
    }
)
# Socket events that change something; every other event only reads.
SEND_EVENTS: frozenset[str] = frozenset(
    {"send_message", "typing", "stop_typing", "mark_as_read", "mark_as_delivered"}
)


def scope_for_http(method: str, route: str) -> Scope:
    """The scope an HTTP call needs, by its method and its route's template."""
    if method in ("GET", "HEAD"):
        return Scope.READ
    if (method, route) in SEND_ROUTES:
        return Scope.SEND
    return Scope.MANAGE


def scope_for_socket_event(event: str) -> Scope:
    if event in SEND_EVENTS:
        return Scope.SEND
    return Scope.READ


def insufficient_scope(needed: Scope) -> Forbidden:
    return Forbidden(f"This token lacks the {needed} scope", code="insufficient_scope")


def scope_refusal(held: Collection[Scope], needed: Scope) -> Forbidden | None:
    """May a caller holding `held` make a call that needs `needed`?"""
    if needed not in held:
        return insufficient_scope(needed)
    return None


def grant_refusal(held: Collection[Scope], requested: Collection[Scope]) -> HubbubError | None:
    """May a caller holding `held` make a token with `requested`? Never more than its own."""
    if Scope.MANAGE not in held:
        return insufficient_scope(Scope.MANAGE)
    if not set(requested) <= set(held):
        return Forbidden("A token cannot grant scopes it does not hold", code="scope_not_held")
    return None


def bot_not_found() -> NotFound:
    return NotFound("Bot not found", code="bot_not_found")


def bot_refusal(
    caller: uuid.UUID, owner: uuid.UUID | None, caller_is_admin: bool
) -> NotFound | None:
    """May `caller` manage a bot owned by `owner` (its tokens, its webhooks, deleting it)?
    Its owner and a server administrator may; anyone else hears it does not exist."""
    if caller == owner:
        return None
    if caller_is_admin:
        return None
    return bot_not_found()

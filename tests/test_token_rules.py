"""The rules of API tokens' scopes and of bots' management, as matrices of pure functions
(`hubbub.domain.token_rules`)."""

from __future__ import annotations

import itertools
import uuid

import pytest

from hubbub.domain.token_rules import (
    ALL_SCOPES,
    Scope,
    bot_refusal,
    grant_refusal,
    scope_for_http,
    scope_for_socket_event,
    scope_refusal,
)

MESSAGES = "/conversations/{conversation_id}/messages"
ONE = MESSAGES + "/{message_id}"


@pytest.mark.parametrize(
    ("method", "route", "needed"),
    [
        ("GET", MESSAGES, Scope.READ),
        ("HEAD", "/users/me", Scope.READ),
        ("GET", "/users/me/tokens", Scope.READ),
        ("POST", MESSAGES, Scope.SEND),
        ("PATCH", ONE, Scope.SEND),
        ("DELETE", ONE, Scope.SEND),
        ("PUT", ONE + "/read", Scope.SEND),
        ("POST", ONE + "/reactions", Scope.SEND),
        ("DELETE", ONE + "/reactions/{emoji}", Scope.SEND),
        ("POST", "/files/upload", Scope.SEND),
        ("POST", "/conversations", Scope.MANAGE),
        ("PUT", "/users/me", Scope.MANAGE),
        ("POST", "/users/me/tokens", Scope.MANAGE),
        ("DELETE", "/users/me/tokens/{token_id}", Scope.MANAGE),
        ("POST", "/bots", Scope.MANAGE),
        ("POST", "/conversations/{conversation_id}/participants", Scope.MANAGE),
        ("PATCH", MESSAGES, Scope.MANAGE),  # not a route: asks the most
        ("POST", "", Scope.MANAGE),  # no route known: asks the most
    ],
)
def test_what_an_http_call_needs(method: str, route: str, needed: Scope) -> None:
    assert scope_for_http(method, route) is needed


@pytest.mark.parametrize(
    ("event", "needed"),
    [
        ("send_message", Scope.SEND),
        ("typing", Scope.SEND),
        ("stop_typing", Scope.SEND),
        ("mark_as_read", Scope.SEND),
        ("mark_as_delivered", Scope.SEND),
        ("join_conversation", Scope.READ),
        ("leave_conversation", Scope.READ),
        ("sync", Scope.READ),
        ("get_presence", Scope.READ),
    ],
)
def test_what_a_socket_event_needs(event: str, needed: Scope) -> None:
    assert scope_for_socket_event(event) is needed


SUBSETS = [
    frozenset(c) for n in range(len(Scope) + 1) for c in itertools.combinations(list(Scope), n)
]


@pytest.mark.parametrize("held", SUBSETS)
@pytest.mark.parametrize("needed", list(Scope))
def test_a_call_is_allowed_exactly_when_its_scope_is_held(
    held: frozenset[Scope], needed: Scope
) -> None:
    refusal = scope_refusal(held, needed)
    if needed in held:
        assert refusal is None
    else:
        assert refusal is not None
        assert (refusal.status, refusal.code) == (403, "insufficient_scope")


@pytest.mark.parametrize("held", SUBSETS)
@pytest.mark.parametrize("requested", [s for s in SUBSETS if s])
def test_a_token_grants_at_most_what_its_maker_holds(
    held: frozenset[Scope], requested: frozenset[Scope]
) -> None:
    refusal = grant_refusal(held, requested)
    if Scope.MANAGE not in held:
        assert refusal is not None
        assert refusal.code == "insufficient_scope"
    elif not requested <= held:
        assert refusal is not None
        assert (refusal.status, refusal.code) == (403, "scope_not_held")
    else:
        assert refusal is None


def test_a_login_session_may_grant_anything() -> None:
    for requested in SUBSETS[1:]:
        assert grant_refusal(ALL_SCOPES, requested) is None


@pytest.mark.parametrize("is_owner", [True, False])
@pytest.mark.parametrize("is_admin", [True, False])
def test_a_bot_is_managed_by_its_owner_or_an_administrator(is_owner: bool, is_admin: bool) -> None:
    caller, other = uuid.uuid4(), uuid.uuid4()
    refusal = bot_refusal(caller, caller if is_owner else other, is_admin)
    if is_owner or is_admin:
        assert refusal is None
    else:
        assert refusal is not None
        assert (refusal.status, refusal.code) == (404, "bot_not_found")

"""HTTP edge for /admin: server administration. Parse, one service call, serialise.

Every route asks `admin_principal` (hubbub.edge.http.deps) first: an anonymous caller,
a bad token and a user who is not an active server administrator all get 404, as if
nothing were here.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hubbub.actions.audit import Actor
from hubbub.actions.auth import Principal
from hubbub.edge.http.deps import AdminDep, ServicesDep, client_address
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.account import ResetLink, SessionList, SessionsEnded
from hubbub.wire.admin import (
    AccountStatusEnvelope,
    AdminUserEnvelope,
    AdminUserPage,
    AuditPage,
    ServerStats,
)
from hubbub.wire.query import WholeNumber

Cursor = Annotated[str | None, Query(max_length=200, description="nextCursor of the page before")]
Limit = Annotated[int, Query(ge=1, le=200), WholeNumber]

router = APIRouter(prefix="/admin", tags=["admin"])


def _actor(principal: Principal, request: Request) -> Actor:
    return Actor(user_id=principal.user_id, address=client_address(request))


@router.get("/users", response_model=AdminUserPage, responses=raises(400))
async def list_users(
    admin: AdminDep,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=100, description="part of a name or email")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    """Every account (deactivated and deleted ones too), by username."""
    return json_response(await services.admin_queries.users(q or None, cursor, limit))


@router.get("/users/{user_id}", response_model=AdminUserEnvelope)
async def show_user(user_id: uuid.UUID, admin: AdminDep, services: ServicesDep) -> Response:
    return json_response(AdminUserEnvelope(user=await services.admin_queries.user(user_id)))


@router.get("/users/{user_id}/sessions", response_model=SessionList)
async def user_sessions(user_id: uuid.UUID, admin: AdminDep, services: ServicesDep) -> Response:
    """The account's live sessions, the most recently used first."""
    return json_response(await services.admin_queries.sessions(user_id))


@router.post("/users/{user_id}/logout-all", response_model=SessionsEnded)
async def logout_all(
    user_id: uuid.UUID, admin: AdminDep, services: ServicesDep, request: Request
) -> Response:
    """End every session of the account; its sockets are cut on every node."""
    return json_response(await services.admin.logout_all(_actor(admin, request), user_id))


@router.post(
    "/users/{user_id}/deactivate", response_model=AccountStatusEnvelope, responses=raises(403, 409)
)
async def deactivate_user(
    user_id: uuid.UUID, admin: AdminDep, services: ServicesDep, request: Request
) -> Response:
    account = await services.admin.set_active(_actor(admin, request), user_id, active=False)
    return json_response(AccountStatusEnvelope(account=account))


@router.post(
    "/users/{user_id}/reactivate", response_model=AccountStatusEnvelope, responses=raises(403)
)
async def reactivate_user(
    user_id: uuid.UUID, admin: AdminDep, services: ServicesDep, request: Request
) -> Response:
    account = await services.admin.set_active(_actor(admin, request), user_id, active=True)
    return json_response(AccountStatusEnvelope(account=account))


@router.post("/users/{user_id}/reset-link", response_model=ResetLink, responses=raises(409))
async def reset_link(
    user_id: uuid.UUID, admin: AdminDep, services: ServicesDep, request: Request
) -> Response:
    """A one-time password-reset link for the user, to hand over (when no email is sent)."""
    return json_response(await services.resets.issue_link(_actor(admin, request), user_id))


@router.get("/stats", response_model=ServerStats)
async def stats(admin: AdminDep, services: ServicesDep) -> Response:
    return json_response(await services.admin_queries.stats())


@router.get("/audit", response_model=AuditPage, responses=raises(400))
async def audit(
    admin: AdminDep, services: ServicesDep, cursor: Cursor = None, limit: Limit = 50
) -> Response:
    """Every administrator's action, newest first."""
    return json_response(await services.admin_queries.audit(cursor, limit))

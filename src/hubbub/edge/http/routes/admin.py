"""HTTP edge for /admin: server administration. Parse, one service call, serialise."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.responses import json_response
from hubbub.wire.account import ResetLink
from hubbub.wire.admin import AccountStatusEnvelope

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/users/{user_id}/deactivate", response_model=AccountStatusEnvelope)
async def deactivate_user(
    user_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    account = await services.admin.set_active(principal.user_id, user_id, active=False)
    return json_response(AccountStatusEnvelope(account=account))


@router.post("/users/{user_id}/reactivate", response_model=AccountStatusEnvelope)
async def reactivate_user(
    user_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    account = await services.admin.set_active(principal.user_id, user_id, active=True)
    return json_response(AccountStatusEnvelope(account=account))


@router.post("/users/{user_id}/reset-link", response_model=ResetLink)
async def reset_link(
    user_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """A one-time password-reset link for the user, to hand over (when no email is sent)."""
    return json_response(await services.resets.issue_link(principal.user_id, user_id))

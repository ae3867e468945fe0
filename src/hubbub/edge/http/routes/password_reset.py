"""HTTP edge for /auth/password-reset: ask for a reset link, use one.

Parse, one service call, serialise.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hubbub.edge.http.deps import ServicesDep, client_address
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.account import PasswordResetAccepted, PasswordResetConfirm, PasswordResetRequest
from hubbub.wire.models import Success

router = APIRouter(prefix="/auth/password-reset", tags=["auth"])


@router.post("", status_code=202, response_model=PasswordResetAccepted, responses=raises(429))
async def request_reset(
    body: PasswordResetRequest, request: Request, services: ServicesDep
) -> Response:
    """Always the same 202, whether or not the address has an account."""
    await services.resets.request(str(body.email), client_address(request))
    return json_response(PasswordResetAccepted(), 202)


@router.post("/confirm", response_model=Success, responses=raises(400, 429))
async def confirm_reset(
    body: PasswordResetConfirm, request: Request, services: ServicesDep
) -> Response:
    await services.resets.confirm(body.token, body.new_password, client_address(request))
    return json_response(Success())

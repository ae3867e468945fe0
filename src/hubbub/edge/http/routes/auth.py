"""HTTP edge for /auth: parse, one service call, serialise."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hubbub.actions.auth import Device
from hubbub.edge.http.deps import PrincipalDep, ServicesDep, client_address
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import (
    AuthResult,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    Success,
    TokenPair,
)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=201, response_model=AuthResult, responses=raises(409, 429))
async def register(body: RegisterRequest, request: Request, services: ServicesDep) -> Response:
    result = await services.auth.register(
        body, client_address(request), request.headers.get("user-agent")
    )
    return json_response(result, 201)


@router.post("/login", response_model=AuthResult, responses=raises(401, 403, 429))
async def login(body: LoginRequest, request: Request, services: ServicesDep) -> Response:
    result = await services.auth.login(
        body.email, body.password, client_address(request), request.headers.get("user-agent")
    )
    return json_response(result)


@router.post("/refresh", response_model=TokenPair, responses=raises(401))
async def refresh(body: RefreshRequest, request: Request, services: ServicesDep) -> Response:
    device = Device(request.headers.get("user-agent"), client_address(request))
    return json_response(await services.auth.refresh(body.refresh_token, device))


@router.post("/logout", response_model=Success)
async def logout(
    principal: PrincipalDep, services: ServicesDep, body: LogoutRequest | None = None
) -> Response:
    await services.auth.logout(principal, body.refresh_token if body else None)
    return json_response(Success())

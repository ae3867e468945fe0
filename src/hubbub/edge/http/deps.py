"""Request dependencies: the composed services, the calling user, the administrators' gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubbub import logs
from hubbub.actions.auth import Principal
from hubbub.domain.account_rules import not_server_admin
from hubbub.domain.errors import Forbidden, Unauthorized
from hubbub.domain.token_rules import scope_for_http
from hubbub.edge.services import Services

_bearer = HTTPBearer(
    auto_error=False, description="Access token from /auth/login, or an API token (hbt_...)"
)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    # A coroutine, not a plain function: FastAPI runs a plain-function dependency in
    # its worker threads, and that hop was 11 % of the CPU of a history page
    # (docs/performance.md, "Seventh round").
    return _services(request)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token", code="missing_token")
    route = request.scope.get("route")
    needed = scope_for_http(request.method, route.path if route is not None else "")
    principal = await _services(request).auth.authenticate(credentials.credentials, needed)
    request.state.principal = principal
    logs.user_id.set(str(principal.user_id))
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
# The bearer credentials if any, unchecked: for routes where a token is one way in of
# several (file downloads also take a signed URL); check them with `get_principal`.
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def admin_principal(
    request: Request, credentials: BearerDep, services: ServicesDep
) -> Principal:
    try:
        principal = await get_principal(request, credentials)
    except (Unauthorized, Forbidden):  # Forbidden: an API token without the scope
        raise not_server_admin() from None
    await services.admin_queries.require_admin(principal.user_id)
    return principal


AdminDep = Annotated[Principal, Depends(admin_principal)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"

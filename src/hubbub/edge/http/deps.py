"""Request dependencies: the composed services and the calling user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hubbub import logs
from hubbub.actions.auth import Principal
from hubbub.domain.errors import Unauthorized
from hubbub.edge.services import Services

_bearer = HTTPBearer(auto_error=False, description="Access token from /auth/login")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token", code="missing_token")
    principal = await get_services(request).auth.authenticate(credentials.credentials)
    request.state.principal = principal
    logs.user_id.set(str(principal.user_id))
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
# The bearer credentials if any, unchecked: for routes where a token is one way in of
# several (file downloads also take a signed URL); check them with `get_principal`.
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"

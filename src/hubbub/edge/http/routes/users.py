"""HTTP edge for /users: parse, one service call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.fields import (
    CleanStr,
)
from hubbub.wire.models import (
    MeEnvelope,
    UpdateMe,
    UserEnvelope,
    UserList,
)
from hubbub.wire.query import WholeNumber

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=MeEnvelope)
async def get_me(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(MeEnvelope(user=await services.user_queries.get_me(principal.user_id)))


@router.put("/me", response_model=MeEnvelope, responses=raises(429))
async def update_me(body: UpdateMe, principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(MeEnvelope(user=await services.users.update_me(principal.user_id, body)))


@router.get("/search", response_model=UserList)
async def search_users(
    principal: PrincipalDep,
    services: ServicesDep,
    q: Annotated[CleanStr, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=50), WholeNumber] = 20,
) -> Response:
    return json_response(await services.user_queries.search(principal.user_id, q, limit))


@router.get("/{user_id}", response_model=UserEnvelope)
async def get_user(user_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep) -> Response:
    user = await services.user_queries.get_user(principal.user_id, user_id)
    return json_response(UserEnvelope(user=user))

"""HTTP edge for /spaces: parse, one service call, serialise."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import (
    AddSpaceMembers,
    CreateSpace,
    SpaceConversations,
    SpaceEnvelope,
    SpaceList,
    Success,
)

router = APIRouter(prefix="/spaces", tags=["spaces"])


@router.post("", status_code=201, response_model=SpaceEnvelope, responses=raises(429))
async def create_space(
    body: CreateSpace, principal: PrincipalDep, services: ServicesDep
) -> Response:
    return json_response(
        SpaceEnvelope(space=await services.spaces.create(principal.user_id, body)), 201
    )


@router.get("", response_model=SpaceList)
async def list_spaces(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(SpaceList(spaces=await services.space_queries.list_for(principal.user_id)))


@router.get("/{space_id}", response_model=SpaceEnvelope)
async def get_space(
    space_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    return json_response(
        SpaceEnvelope(space=await services.space_queries.get(principal.user_id, space_id))
    )


@router.post("/{space_id}/members", response_model=SpaceEnvelope, responses=raises(403, 429))
async def add_members(
    space_id: uuid.UUID, body: AddSpaceMembers, principal: PrincipalDep, services: ServicesDep
) -> Response:
    space = await services.spaces.add_members(principal.user_id, space_id, body.user_ids)
    return json_response(SpaceEnvelope(space=space))


@router.delete("/{space_id}/members/{user_id}", response_model=Success, responses=raises(403, 429))
async def remove_member(
    space_id: uuid.UUID, user_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.spaces.remove_member(principal.user_id, space_id, user_id)
    return json_response(Success())


@router.get("/{space_id}/conversations", response_model=SpaceConversations)
async def space_conversations(
    space_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    views = await services.space_queries.conversations(principal.user_id, space_id)
    return json_response(SpaceConversations(conversations=views))

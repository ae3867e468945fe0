"""HTTP edge for /conversations (and their participants): parse, one service call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import (
    AddParticipants,
    ConversationEnvelope,
    ConversationList,
    CreateConversation,
    ParticipantEnvelope,
    Success,
    UpdateConversation,
    UpdateParticipant,
)
from hubbub.wire.notifications import ConversationSettings
from hubbub.wire.query import QueryBool, QueryTime, WholeNumber

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.get("", response_model=ConversationList, responses=raises(400))
async def list_conversations(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100), WholeNumber] = 50,
    before: Annotated[QueryTime | None, Query(description="a lastMessageAt cursor")] = None,
    archived: Annotated[
        QueryBool,
        Query(description="false (default): the active list; true: the archived ones"),
    ] = False,
    cursor: Annotated[
        str | None, Query(description="the nextCursor of the page before (not with before)")
    ] = None,
) -> Response:
    page = await services.conversation_queries.list_for(
        principal.user_id, limit=limit, before=before, archived=archived, cursor=cursor
    )
    return Response(content=page.json(), media_type="application/json")


@router.post(
    "",
    status_code=201,
    response_model=ConversationEnvelope,
    responses={
        **raises(403, 404, 429),
        200: {"description": "the existing private conversation of this pair"},
    },
)
async def create_conversation(
    body: CreateConversation, principal: PrincipalDep, services: ServicesDep
) -> Response:
    view, created = await services.conversations.create(principal.user_id, body)
    return json_response(ConversationEnvelope(conversation=view), 201 if created else 200)


@router.get("/{conversation_id}", response_model=ConversationEnvelope)
async def get_conversation(
    conversation_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    view = await services.conversation_queries.get(principal.user_id, conversation_id)
    return json_response(ConversationEnvelope(conversation=view))


@router.patch("/{conversation_id}", response_model=ConversationEnvelope, responses=raises(403, 429))
async def update_conversation(
    conversation_id: uuid.UUID,
    body: UpdateConversation,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    view = await services.conversations.update(principal.user_id, conversation_id, body)
    return json_response(ConversationEnvelope(conversation=view))


@router.put(
    "/{conversation_id}/settings", response_model=ConversationEnvelope, responses=raises(429)
)
async def update_settings(
    conversation_id: uuid.UUID,
    body: ConversationSettings,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    view = await services.conversations.update_settings(principal.user_id, conversation_id, body)
    return json_response(ConversationEnvelope(conversation=view))


@router.post(
    "/{conversation_id}/participants",
    response_model=ConversationEnvelope,
    responses=raises(403, 429),
)
async def add_participants(
    conversation_id: uuid.UUID,
    body: AddParticipants,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    view = await services.participants.add(principal.user_id, conversation_id, body)
    return json_response(ConversationEnvelope(conversation=view))


@router.patch(
    "/{conversation_id}/participants/{user_id}",
    response_model=ParticipantEnvelope,
    responses=raises(403, 429),
)
async def update_participant(
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    body: UpdateParticipant,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    participant = await services.participants.update(
        principal.user_id, conversation_id, user_id, body
    )
    return json_response(ParticipantEnvelope(participant=participant))


@router.delete(
    "/{conversation_id}/participants/{user_id}", response_model=Success, responses=raises(403, 429)
)
async def remove_participant(
    conversation_id: uuid.UUID, user_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.participants.remove(principal.user_id, conversation_id, user_id)
    return json_response(Success())

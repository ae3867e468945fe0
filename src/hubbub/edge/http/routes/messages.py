"""HTTP edge for messages, reactions, read markers, resume and search."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import TypeAdapter
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.fields import (
    EMOJI_TEXT,
    CleanStr,
    Emoji,
)
from hubbub.wire.models import (
    ChangesPage,
    EditMessage,
    MessageEnvelope,
    MessagePage,
    ReactionInput,
    ReactionList,
    ReadResult,
    SearchPage,
    SendMessage,
    ThreadPage,
)
from hubbub.wire.query import WholeNumber
from hubbub.wire.webhooks import CommandAccepted, CommandEnvelope

router = APIRouter(tags=["messages"])
_emoji = TypeAdapter(Emoji)

Limit = Annotated[int, Query(ge=1, le=100), WholeNumber]
MESSAGES = "/conversations/{conversation_id}/messages"
ONE = MESSAGES + "/{message_id}"


@router.get(MESSAGES, response_model=MessagePage, responses=raises(400))
async def history(
    conversation_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Limit = 50,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    around_id: Annotated[uuid.UUID | None, Query(alias="aroundId")] = None,
) -> Response:
    page = await services.message_queries.history(
        principal.user_id,
        conversation_id,
        limit=limit,
        before=before,
        after=after,
        around=around_id,
    )
    return Response(content=page.json(), media_type="application/json")


@router.post(
    MESSAGES,
    status_code=201,
    response_model=MessageEnvelope,
    responses={
        **raises(403, 409, 429),
        200: {"description": "the original message of a repeated optimisticId"},
        202: {
            "model": CommandEnvelope,
            "description": "a slash command: sent to the account that answers it, not posted",
        },
    },
)
async def send_message(
    conversation_id: uuid.UUID, body: SendMessage, principal: PrincipalDep, services: ServicesDep
) -> Response:
    outcome = await services.commands.post(principal.user_id, conversation_id, body)
    if isinstance(outcome, CommandAccepted):  # a slash command: nothing was posted
        return json_response(CommandEnvelope(command=outcome), 202)
    return json_response(MessageEnvelope(message=outcome.message), 201 if outcome.created else 200)


@router.get(ONE, response_model=MessageEnvelope)
async def get_message(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    message = await services.message_queries.get_message(
        principal.user_id, conversation_id, message_id
    )
    return json_response(MessageEnvelope(message=message))


@router.patch(ONE, response_model=MessageEnvelope, responses=raises(403, 429))
async def edit_message(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    body: EditMessage,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    message = await services.message_changes.edit(
        principal.user_id, conversation_id, message_id, body.content
    )
    return json_response(MessageEnvelope(message=message))


@router.delete(ONE, response_model=MessageEnvelope, responses=raises(403, 429))
async def delete_message(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    message = await services.message_changes.delete(principal.user_id, conversation_id, message_id)
    return json_response(MessageEnvelope(message=message))


@router.get(ONE + "/thread", response_model=ThreadPage, responses=raises(400))
async def thread(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Limit = 50,
    after: uuid.UUID | None = None,
) -> Response:
    page = await services.message_queries.thread(
        principal.user_id, conversation_id, message_id, limit=limit, after=after
    )
    return json_response(page)


@router.put(ONE + "/read", response_model=ReadResult, responses=raises(429))
async def mark_read(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    outcome = await services.markers.mark_read(principal.user_id, conversation_id, message_id)
    return json_response(ReadResult(unread_count=outcome.unread_count))


@router.post(ONE + "/reactions", response_model=ReactionList, responses=raises(403, 429))
async def add_reaction(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    body: ReactionInput,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    reactions = await services.message_changes.react(
        principal.user_id, conversation_id, message_id, body.emoji, add=True
    )
    return json_response(ReactionList(reactions=reactions))


@router.delete(ONE + "/reactions/{emoji}", response_model=ReactionList, responses=raises(403, 429))
async def remove_reaction(
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    emoji: Annotated[str, Path(max_length=32, json_schema_extra={"pattern": EMOJI_TEXT})],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    reactions = await services.message_changes.react(
        principal.user_id, conversation_id, message_id, _emoji.validate_python(emoji), add=False
    )
    return json_response(ReactionList(reactions=reactions))


@router.get("/conversations/{conversation_id}/changes", response_model=ChangesPage)
async def changes(
    conversation_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
    since: Annotated[int, Query(ge=0, le=2**62), WholeNumber],
    limit: Limit = 100,
) -> Response:
    page = await services.message_queries.changes(
        principal.user_id, conversation_id, since=since, limit=limit
    )
    return Response(content=page.json(), media_type="application/json")


@router.get("/search/messages", response_model=SearchPage, responses=raises(400, 404))
async def search_messages(
    principal: PrincipalDep,
    services: ServicesDep,
    q: Annotated[CleanStr, Query(min_length=1, max_length=200)],
    conversation_id: Annotated[uuid.UUID | None, Query(alias="conversationId")] = None,
    limit: Limit = 20,
    before: uuid.UUID | None = None,
) -> Response:
    page = await services.search.search(
        principal.user_id, q, conversation_id=conversation_id, limit=limit, before=before
    )
    return json_response(page)

"""HTTP edge for slash commands: a conversation's commands, registered by the member
that answers them. Parse, one action or query, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import Success
from hubbub.wire.webhooks import (
    COMMAND_NAME,
    SlashCommandEnvelope,
    SlashCommandList,
    SlashCommandRequest,
)

router = APIRouter(prefix="/conversations/{conversation_id}/commands", tags=["webhooks"])


@router.post(
    "", status_code=201, response_model=SlashCommandEnvelope, responses=raises(404, 409, 429)
)
async def register_command(
    conversation_id: uuid.UUID,
    body: SlashCommandRequest,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """`/name` here goes to the caller's endpoint (a `command` event) instead of being
    posted; registering it again changes its description."""
    view = await services.commands.register(principal.user_id, conversation_id, body)
    return json_response(SlashCommandEnvelope(command=view), status_code=201)


@router.get("", response_model=SlashCommandList, responses=raises(404))
async def list_commands(
    conversation_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    return json_response(
        await services.webhook_queries.commands(principal.user_id, conversation_id)
    )


@router.delete("/{name}", response_model=Success, responses=raises(403, 404))
async def unregister_command(
    conversation_id: uuid.UUID,
    name: Annotated[str, Path(pattern=COMMAND_NAME, max_length=32)],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Only the account that answers the command removes it."""
    await services.commands.unregister(principal.user_id, conversation_id, name)
    return json_response(Success())

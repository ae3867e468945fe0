"""HTTP edge for API tokens (`/users/me/tokens`), bot users (`/bots`) and incoming
webhooks (`/bots/{id}/webhooks`, `/hooks/{id}/{secret}`): parse, one service call,
serialise. docs/integrations.md describes them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.fields import CleanStr
from hubbub.wire.integrations import (
    BotEnvelope,
    BotList,
    CreateBot,
    CreateToken,
    CreateWebhook,
    TokenCreated,
    TokenList,
    WebhookCreated,
    WebhookList,
    WebhookPost,
)
from hubbub.wire.models import MessageEnvelope, Success

router = APIRouter(tags=["integrations"])


@router.get("/users/me/tokens", response_model=TokenList)
async def list_tokens(principal: PrincipalDep, services: ServicesDep) -> Response:
    """My API tokens not revoked, with when each was last used (never their secrets)."""
    return json_response(await services.api_tokens.of_user(principal.user_id))


@router.post(
    "/users/me/tokens", status_code=201, response_model=TokenCreated, responses=raises(429)
)
async def create_token(
    body: CreateToken, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """A new API token: its `secret` is in this answer only (stored as a hash)."""
    created = await services.api_tokens.create(principal, principal.user_id, body)
    return json_response(created, 201)


@router.delete("/users/me/tokens/{token_id}", response_model=Success)
async def revoke_token(
    token_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Revoke a token: refused from now on, its sockets cut on every node."""
    await services.api_tokens.revoke(principal.user_id, token_id)
    return json_response(Success())


@router.get("/bots", response_model=BotList)
async def list_bots(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The bots I own and have not deleted."""
    return json_response(await services.bots.of_owner(principal.user_id))


@router.post("/bots", status_code=201, response_model=BotEnvelope, responses=raises(409, 429))
async def create_bot(body: CreateBot, principal: PrincipalDep, services: ServicesDep) -> Response:
    """A new bot user, owned by me: it has no password; give it a token to use it."""
    bot = await services.bots.create(principal, body)
    return json_response(BotEnvelope(bot=bot), 201)


@router.delete("/bots/{bot_id}", response_model=Success)
async def delete_bot(bot_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Deactivate a bot (its owner or an administrator): its tokens and sockets end."""
    await services.bots.delete(principal, bot_id)
    return json_response(Success())


@router.get("/bots/{bot_id}/tokens", response_model=TokenList)
async def list_bot_tokens(
    bot_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    return json_response(await services.bots.tokens(principal, bot_id))


@router.post(
    "/bots/{bot_id}/tokens", status_code=201, response_model=TokenCreated, responses=raises(429)
)
async def create_bot_token(
    bot_id: uuid.UUID, body: CreateToken, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """A new API token of the bot: its `secret` is in this answer only."""
    return json_response(await services.bots.create_token(principal, bot_id, body), 201)


@router.delete("/bots/{bot_id}/tokens/{token_id}", response_model=Success)
async def revoke_bot_token(
    bot_id: uuid.UUID, token_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.bots.revoke_token(principal, bot_id, token_id)
    return json_response(Success())


@router.get("/bots/{bot_id}/webhooks", response_model=WebhookList)
async def list_webhooks(
    bot_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The bot's incoming webhooks (without their secrets)."""
    return json_response(await services.webhooks.of_bot(principal, bot_id))


@router.post(
    "/bots/{bot_id}/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=raises(429),
)
async def create_webhook(
    bot_id: uuid.UUID, body: CreateWebhook, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """An incoming webhook posting as the bot into a conversation both of us are in: its
    `url` (holding the secret) is in this answer only."""
    return json_response(await services.webhooks.create(principal, bot_id, body), 201)


@router.post(
    "/bots/{bot_id}/webhooks/{webhook_id}/rotate",
    response_model=WebhookCreated,
    responses=raises(429),
)
async def rotate_webhook(
    bot_id: uuid.UUID, webhook_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """A new secret (and URL); the old one answers 404 from now on."""
    return json_response(await services.webhooks.rotate(principal, bot_id, webhook_id))


@router.delete("/bots/{bot_id}/webhooks/{webhook_id}", response_model=Success)
async def delete_webhook(
    bot_id: uuid.UUID, webhook_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.webhooks.delete(principal, bot_id, webhook_id)
    return json_response(Success())


@router.post(
    "/hooks/{webhook_id}/{secret}",
    status_code=201,
    response_model=MessageEnvelope,
    responses={
        **raises(403, 404, 409, 429),
        200: {"description": "the original message of a repeated Idempotency-Key"},
    },
)
async def post_to_webhook(
    webhook_id: uuid.UUID,
    secret: Annotated[str, Path(min_length=1, max_length=100)],
    body: WebhookPost,
    services: ServicesDep,
    idempotency_key: Annotated[CleanStr | None, Header(min_length=1, max_length=100)] = None,
) -> Response:
    """Post into the webhook's conversation as its bot: `{content}` or `{text, username}`.
    No token: the secret in the path is the credential (a wrong one answers 404)."""
    outcome = await services.webhooks.post(webhook_id, secret, body, idempotency_key)
    return json_response(MessageEnvelope(message=outcome.message), 201 if outcome.created else 200)

"""HTTP edge for outgoing webhooks: an account's event subscriptions, their delivery log
and a test ping (`/users/me/event-subscriptions`), and the same for a bot, by its owner
or an administrator (`/bots/{bot_id}/event-subscriptions`). Parse, one action or query,
serialise."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from hubbub.domain.webhook_rules import DeliveryStatus
from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import Success
from hubbub.wire.query import WholeNumber
from hubbub.wire.webhooks import (
    DeliveryList,
    EventSubscriptionList,
    EventSubscriptionRequest,
    NewEventSubscription,
    PingSent,
)

router = APIRouter(prefix="/users/me/event-subscriptions", tags=["webhooks"])
bot_router = APIRouter(prefix="/bots/{bot_id}/event-subscriptions", tags=["webhooks"])


@dataclass(frozen=True)
class LogFilter:
    status: DeliveryStatus | None
    limit: int


async def log_filter(
    status: Annotated[
        DeliveryStatus | None, Query(description="only deliveries in this state")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200), WholeNumber] = 50,
) -> LogFilter:
    """The delivery log's query: one state only (when asked), and how many."""
    return LogFilter(status, limit)


LogFilterDep = Annotated[LogFilter, Depends(log_filter)]
# The delivery log and the test ping, the same for an account and for a bot's owner.
LOG_ROUTE: dict[str, Any] = {"response_model": DeliveryList, "responses": raises(400, 404)}
PING_ROUTE: dict[str, Any] = {
    "status_code": 202,
    "response_model": PingSent,
    "responses": raises(404, 429),
}


@router.post("", status_code=201, response_model=NewEventSubscription, responses=raises(422, 429))
async def subscribe(
    body: EventSubscriptionRequest, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Deliver these events to `url`, signed with the secret in the answer (shown once)."""
    created = await services.event_subscriptions.subscribe(principal.user_id, body)
    return json_response(created, status_code=201)


@router.get("", response_model=EventSubscriptionList)
async def list_subscriptions(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(await services.webhook_queries.subscriptions(principal.user_id))


@router.delete("/{subscription_id}", response_model=Success, responses=raises(404))
async def unsubscribe(
    subscription_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """No more deliveries to it (those pending are dropped)."""
    await services.event_subscriptions.unsubscribe(principal.user_id, subscription_id)
    return json_response(Success())


@router.get("/{subscription_id}/deliveries", **LOG_ROUTE)
async def deliveries(
    subscription_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
    log_query: LogFilterDep,
) -> Response:
    """The delivery log, newest first: state, attempts and the last error of each."""
    log = await services.webhook_queries.deliveries(
        principal.user_id, subscription_id, status=log_query.status, limit=log_query.limit
    )
    return json_response(log)


@router.post("/{subscription_id}/test", **PING_ROUTE)
async def ping(
    subscription_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Send a `ping` event to the endpoint (see its delivery in the log)."""
    sent = await services.event_subscriptions.ping(principal.user_id, subscription_id)
    return json_response(sent, status_code=202)


@bot_router.post(
    "", status_code=201, response_model=NewEventSubscription, responses=raises(422, 429)
)
async def subscribe_bot(
    bot_id: uuid.UUID,
    body: EventSubscriptionRequest,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Deliver these events of the bot to `url`; the secret is in this answer only."""
    created = await services.bot_subscriptions.subscribe(principal, bot_id, body)
    return json_response(created, status_code=201)


@bot_router.get("", response_model=EventSubscriptionList)
async def list_bot_subscriptions(
    bot_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """The bot's event subscriptions (its owner or an administrator)."""
    return json_response(await services.bot_subscriptions.list(principal, bot_id))


@bot_router.delete("/{subscription_id}", response_model=Success, responses=raises(404))
async def unsubscribe_bot(
    bot_id: uuid.UUID, subscription_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.bot_subscriptions.unsubscribe(principal, bot_id, subscription_id)
    return json_response(Success())


@bot_router.get("/{subscription_id}/deliveries", **LOG_ROUTE)
async def bot_deliveries(
    bot_id: uuid.UUID,
    subscription_id: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
    log_query: LogFilterDep,
) -> Response:
    """The bot's delivery log of this subscription, newest first."""
    log = await services.bot_subscriptions.deliveries(
        principal, bot_id, subscription_id, status=log_query.status, limit=log_query.limit
    )
    return json_response(log)


@bot_router.post("/{subscription_id}/test", **PING_ROUTE)
async def ping_bot(
    bot_id: uuid.UUID, subscription_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Send a `ping` event of the bot to the endpoint (see its delivery in the log)."""
    sent = await services.bot_subscriptions.ping(principal, bot_id, subscription_id)
    return json_response(sent, status_code=202)

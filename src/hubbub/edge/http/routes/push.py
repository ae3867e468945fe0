"""HTTP edge for Web Push: the server's VAPID public key and a user's subscriptions.

Parse, one service call, serialise.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import Success
from hubbub.wire.push import (
    PushSubscriptionEnvelope,
    PushSubscriptionList,
    PushSubscriptionRequest,
    VapidPublicKey,
)

router = APIRouter(tags=["push"])


@router.get("/push/vapid-public-key", response_model=VapidPublicKey, responses=raises(404))
async def vapid_public_key(principal: PrincipalDep, services: ServicesDep) -> Response:
    """The `applicationServerKey` to subscribe with; 404 `push_disabled` when off."""
    return json_response(services.push_queries.vapid_public_key())


@router.post(
    "/users/me/push-subscriptions",
    status_code=201,
    response_model=PushSubscriptionEnvelope,
    responses=raises(404, 429),
)
async def subscribe(
    body: PushSubscriptionRequest, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Keep this browser's push subscription (an https:// endpoint and its keys)."""
    view = await services.push.subscribe(principal.user_id, body)
    return json_response(PushSubscriptionEnvelope(subscription=view), status_code=201)


@router.get(
    "/users/me/push-subscriptions", response_model=PushSubscriptionList, responses=raises(404)
)
async def list_subscriptions(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(await services.push_queries.subscriptions(principal.user_id))


@router.delete(
    "/users/me/push-subscriptions/{subscription_id}",
    response_model=Success,
    responses=raises(404),
)
async def unsubscribe(
    subscription_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.push.unsubscribe(principal.user_id, subscription_id)
    return json_response(Success())

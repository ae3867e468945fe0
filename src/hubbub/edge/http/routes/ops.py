"""Operations endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from functools import cache

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from hubbub import __version__
from hubbub.edge.http.deps import ServicesDep, client_address
from hubbub.edge.http.observe import MetricsAccess
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import error_response
from hubbub.events.asyncapi import asyncapi_document

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **raises(404),
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics, to callers HUBBUB_METRICS_ALLOW or HUBBUB_METRICS_TOKEN
    admit; anyone else is told there is nothing here (404)."""
    allowed: MetricsAccess = request.app.state.metrics_access
    if not allowed.allows(client_address(request), request.headers.get("authorization")):
        return error_response(404, "not_found", "Not Found")
    return Response(
        content=services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


@router.get("/readyz", responses=raises(503))
async def readyz(services: ServicesDep) -> Response:
    """200 when ready; 503 when degraded or not ready, in the one error shape (code
    `degraded` or `not_ready`) with the same `status` and `checks` beside it."""
    readiness = await services.readiness()
    report = {"status": readiness.status, "checks": readiness.checks()}
    if readiness.status == "ready":
        return Response(content=orjson.dumps(report), media_type="application/json")
    problems = ", ".join(readiness.problems())
    what = "Degraded" if readiness.status == "degraded" else "Not ready"
    error = error_response(503, readiness.status, f"{what}: {problems}")
    body = orjson.loads(error.body) | report
    return Response(content=orjson.dumps(body), status_code=503, media_type="application/json")


@router.get("/asyncapi.json", summary="The Socket.IO events as an AsyncAPI 3.0 document")
async def asyncapi() -> Response:
    return Response(content=_asyncapi_json(), media_type="application/json")


@cache
def _asyncapi_json() -> bytes:
    return orjson.dumps(asyncapi_document(__version__))

"""Operations endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.edge.http.deps import ServicesDep
from hubbub.edge.http.responses import error_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(
        content=services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


@router.get("/readyz")
async def readyz(services: ServicesDep) -> Response:
    problems = await services.readiness_problems()
    if problems:
        return error_response(503, "not_ready", "Not ready: " + ", ".join(problems))
    return Response(content=b'{"status":"ready"}', media_type="application/json")

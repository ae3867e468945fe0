"""HTTP edge for /mentions: parse, one query, serialise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.models import MentionPage
from hubbub.wire.query import WholeNumber

router = APIRouter(prefix="/mentions", tags=["messages"])


@router.get("", response_model=MentionPage, responses=raises(400))
async def list_mentions(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100), WholeNumber] = 50,
    cursor: Annotated[str | None, Query(description="the nextCursor of the page before")] = None,
) -> Response:
    page = await services.mention_queries.page(principal.user_id, limit=limit, cursor=cursor)
    return json_response(page)

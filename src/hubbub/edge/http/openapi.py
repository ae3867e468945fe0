"""The OpenAPI document (`/openapi.json`): every error an operation can answer with.

FastAPI documents what a route returns on success and a 422 of its own shape. The rest
is composed here, once, from two sources:

- what the route's guards can refuse, read from the route itself (`_GUARDS`): a bearer
  token (401), the administrators' gate (404 to everyone else), ids in the path (404),
  a JSON body (400 malformed, 413 over the cap, 415 not JSON, 422 invalid), query
  parameters (422), and the database or Redis not answering (503);
- what the route's action can refuse, declared at the route with `raises(...)`.

Every error is described by the one body, `ErrorBody` (hubbub.wire.errors), with an
example; 429 and 503 carry `Retry-After`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from hubbub.domain.errors import status_phrase
from hubbub.edge.http.deps import admin_principal, get_principal
from hubbub.wire.errors import ERROR_STATUSES, ErrorBody, error_example
from hubbub.wire.fields import SHARED_SCHEMAS

# When each status is answered (the responses' descriptions).
_WHEN: dict[int, str] = {
    400: "malformed JSON, a bad cursor or a value not among the allowed ones",
    401: "no valid access token (or wrong credentials)",
    403: "the caller may not do this",
    404: "not found, or not visible to the caller",
    409: "in conflict with what exists",
    413: "the body is larger than the server accepts",
    415: "the body is not of the documented content type",
    422: "well-formed but invalid input; `message` names the field",
    429: "over a budget or a limit; retry after `Retry-After` seconds",
    503: "the database (or Redis) does not answer; retry after `Retry-After` seconds",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_BODY_ERRORS = frozenset({400, 413, 415, 422})
_ADMIN_GATE = (
    "For server administrators: send `Authorization: Bearer <access token>` of an active "
    "administrator. Anyone else (no token, a bad one, another user) gets 404, as for a "
    "path that does not exist."
)


def raises(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: the statuses its action can answer with besides those
    its guards already give (see `_guard_statuses`)."""
    assert set(statuses) <= ERROR_STATUSES, statuses
    return {status: {"description": _WHEN[status]} for status in statuses}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _guard_statuses(route: APIRoute, operation: dict[str, Any]) -> set[int]:
    """The errors this operation's own guards can give, whatever its action does."""
    calls = set(_calls(route.dependant))
    # The operations endpoints touch no database; they declare what they answer.
    found = set() if "operations" in route.tags else {503}
    if get_principal in calls:
        found.add(401)
        found.add(403)  # an API token without the scope the call needs
    if admin_principal in calls:
        found.add(404)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["schema"].get("format") == "uuid":
            found.add(404)  # a malformed id names nothing, like an unknown one
        elif parameter["in"] in ("path", "query"):
            found.add(422)
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        found |= _BODY_ERRORS
    return found


def _error_response(status: int, description: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or _WHEN.get(status, status_phrase(status)),
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": error_example(status),
            }
        },
    }
    if status in (429, 503):
        response["headers"] = _RETRY_AFTER
    return response


def allowed_methods(app: FastAPI, path: str) -> str:
    """The `Allow` header of a 405: every documented method of the routes the path matches."""
    routes: list[APIRoute] = getattr(app, "documented_routes", [])
    found = {
        method
        for route in routes
        if route.include_in_schema and route.path_regex.match(path)
        for method in route.methods or ()
    }
    return ", ".join(sorted(found))


class DocumentedAPI(FastAPI):
    """FastAPI whose `/openapi.json` also documents every operation's errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The routers' own routes, kept to read their guards (FastAPI may wrap them).
        self.documented_routes: list[APIRoute] = []

    def include_router(self, router: APIRouter, *args: Any, **kwargs: Any) -> None:
        self.documented_routes.extend(r for r in router.routes if isinstance(r, APIRoute))
        super().include_router(router, *args, **kwargs)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            _add_errors(super().openapi(), self.documented_routes)
        return super().openapi()


def _add_errors(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    paths = schema["paths"]
    for route in routes:
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = paths[route.path_format][method.lower()]
            responses = operation["responses"]
            # FastAPI's own 422 is dropped where no guard gives it (a path of ids only).
            responses.pop("422", None)
            declared = {int(s) for s in route.responses if int(s) >= 400}
            if admin_principal in set(_calls(route.dependant)):
                # Not a security requirement: without the token of an administrator the
                # answer is 404, never 401 (see hubbub.edge.http.routes.admin).
                operation.pop("security", None)
                operation["description"] = _ADMIN_GATE
            for code in sorted(declared | _guard_statuses(route, operation)):
                given = responses.get(str(code), {}).get("description")
                # FastAPI's own 422 ("Validation Error") is replaced, like its body.
                responses[str(code)] = _error_response(code, given if code != 422 else None)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for fastapi_own in ("HTTPValidationError", "ValidationError"):
        components.pop(fastapi_own, None)
    components["ErrorBody"] = ErrorBody.model_json_schema(by_alias=True)
    components.update(SHARED_SCHEMAS)

"""The app as a whole: error shape everywhere, operations endpoints, OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from hubbub.app import Node
from tests.conftest import RegisterFn, assert_error


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/no/such/thing"), 404, "not_found")
    assert_error(await client.delete("/auth/login"), 405, "method_not_allowed")


async def test_unhandled_error_is_500_without_details(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: SELECT * FROM users")

    node.http.add_api_route("/test-explode", explode)
    transport = httpx.ASGITransport(app=node.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/test-explode")
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text
    assert "SELECT" not in response.text
    assert body["message"] == "Internal server error"
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


async def test_healthz_and_readyz(client: httpx.AsyncClient, node: Node) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    redis = "absent" if node.services.redis is None else "connected"
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "reachable", "migrations": "current", "redis": redis},
    }


async def test_readyz_is_503_when_the_database_is_gone(
    client: httpx.AsyncClient, node: Node
) -> None:
    db = node.services.db
    original_ping = db.ping

    async def failing_ping() -> None:
        raise ConnectionRefusedError("database down")

    db.ping = failing_ping  # type: ignore[method-assign]
    try:
        response = await client.get("/readyz")
    finally:
        db.ping = original_ping  # type: ignore[method-assign]
    # The one error shape, with the readiness report beside it.
    body = response.json()
    report = {"status": body.pop("status"), "checks": body.pop("checks")}
    assert report == {
        "status": "not_ready",
        "checks": {
            "database": "unreachable",
            "migrations": "unknown",
            "redis": "absent" if node.services.redis is None else "connected",
        },
    }
    assert body == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": "Not ready: database",
        "code": "not_ready",
    }
    assert "refused" not in response.text


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in (
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/users/me",
        "/users/search",
        "/users/{user_id}",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"], path
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_metrics_count_messages_and_errors(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    from tests.chat import create_group, send

    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    await send(client, ann, cid, "one")
    await send(client, ann, cid, "two")
    text = (await client.get("/metrics")).text
    assert "hubbub_messages_sent_total 2.0" in text
    for name in (
        "hubbub_connected_sockets",
        "hubbub_handshake_seconds",
        "hubbub_fanout_seconds",
        "hubbub_errors_total",
        "hubbub_redis_reconnects_total",
    ):
        assert name in text


def test_every_route_answers_its_own_path(node: Node) -> None:
    """Routers are included with the busiest first (`hubbub.app`), and FastAPI takes the
    first route whose path and method match: no route may stand in front of another's
    path, or a reorder would send requests to the wrong handler."""

    def in_order(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
        for route in routes:
            included = getattr(route, "original_router", None)
            yield from in_order(included.routes) if included is not None else (route,)

    routes = [r for r in in_order(node.http.routes) if isinstance(r, Route)]
    api = [r for r in routes if isinstance(r, APIRoute)]
    assert len(api) > 100
    for route in api:
        path = re.sub(r"\{[^}]+\}", "0f0f0f0f-0000-4000-8000-000000000001", route.path)
        for method in route.methods:
            first = next(r for r in routes if r.path_regex.match(path) and method in r.methods)
            assert first is route, f"{method} {route.path} is taken by {first.path}"

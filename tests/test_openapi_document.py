"""What /openapi.json says of errors and content types, and the inputs it refuses
(docs/http-api.md, Errors and Conventions).

Every error an operation answers with is documented with the one body (`ErrorBody`),
with an example; 429 and 503 carry `Retry-After`; /metrics is Prometheus text; a
query parameter takes only what its schema allows; a body that is not JSON is 415; a
405 names every method of its path. tests/test_openapi_fuzz.py checks all of it
against a running server with generated requests.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hubbub.app import Node
from tests.conftest import Account, RegisterFn, assert_error, count_rows

ERROR = {"$ref": "#/components/schemas/ErrorBody"}


async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


async def test_every_error_has_the_one_body_and_an_example(client: httpx.AsyncClient) -> None:
    spec = await document(client)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorBody"]["required"]) == {"statusCode", "error", "message", "code"}
    seen: set[str] = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                seen.add(status)
                body = response["content"]["application/json"]
                assert body["schema"] == ERROR, (method, path, status)
                assert body["example"]["statusCode"] == int(status), (method, path, status)
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, path)
    assert seen >= {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"}


async def test_guards_and_actions_are_documented_where_they_answer(
    client: httpx.AsyncClient,
) -> None:
    paths = (await document(client))["paths"]

    def statuses(method: str, path: str) -> set[str]:
        return set(paths[path][method]["responses"])

    # A bearer token (401), an id in the path (404), a JSON body (400, 413, 415, 422).
    assert statuses("post", "/conversations/{conversation_id}/messages") >= {
        "201", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"
    }  # fmt: skip
    # No body, no query, ids only: no 422, no 415 (403: an API token without the scope).
    assert statuses("get", "/conversations/{conversation_id}") == {
        "200", "401", "403", "404", "503"
    }  # fmt: skip
    assert statuses("post", "/auth/login") >= {"401", "403", "429"}
    # The administration answers 404 to anyone but an administrator, never 401.
    stats = paths["/admin/stats"]["get"]
    assert set(stats["responses"]) == {"200", "404", "503"}
    assert "security" not in stats
    assert "administrator" in stats["description"]
    metrics = paths["/metrics"]["get"]["responses"]
    assert set(metrics["200"]["content"]) == {"text/plain"}
    download = paths["/files/{file_id}/{filename}"]["get"]["responses"]["200"]["content"]
    assert {"image/png", "image/webp", "text/plain", "application/octet-stream"} <= set(download)
    assert "application/json" not in download


REFUSED = [
    "before=0.5",
    "before=1700000000",
    "before=2026-01-05",
    "before=2026-01-05T10:00:00",
    "limit=5.0",
    "limit=5_0",
    "limit=%205",
    "limit=0x10",
    "archived=yes",
    "archived=on",
]
TAKEN = [
    "before=2026-01-05T10:00:00Z",
    "before=2026-01-05T10:00:00.5%2B02:00",
    "limit=5",
    "archived=true",
    "archived=0",
]


@pytest.mark.parametrize(
    ("query", "refused"), [(q, True) for q in REFUSED] + [(q, False) for q in TAKEN]
)
async def test_a_query_parameter_takes_only_what_its_schema_allows(
    client: httpx.AsyncClient, register: RegisterFn, query: str, refused: bool
) -> None:
    me = await register()
    response = await client.get(f"/conversations?{query}", headers=me.headers)
    if not refused:
        assert response.status_code == 200, response.text
        return
    assert_error(response, 422, "validation_error")
    assert response.json()["message"].startswith(query.split("=", maxsplit=1)[0] + ":")


async def test_a_body_that_is_not_json_is_415_and_changes_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me: Account = await register()
    users = await count_rows(node, "users")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        response = await client.post(
            "/auth/register",
            content=b'{"username": "someone", "email": "a@example.com", "password": "x" }',
            headers=headers,
        )
        assert_error(response, 415, "unsupported_media_type")
        renamed = await client.put(
            "/users/me", content=b'{"displayName": "Renamed"}', headers=me.headers | headers
        )
        assert_error(renamed, 415, "unsupported_media_type")
    assert await count_rows(node, "users") == users
    assert (await client.get("/users/me", headers=me.headers)).json()["user"]["displayName"] is None


async def test_a_405_names_every_method_of_the_path(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    for method, path, allow in [
        ("OPTIONS", "/conversations", "GET, POST"),
        ("PUT", "/users/me/sessions", "GET"),
        ("DELETE", "/users/me/sessions/logout-others", "POST"),
        ("PATCH", "/users/me", "DELETE, GET, PUT"),
    ]:
        response = await client.request(method, path, headers=me.headers)
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allow, (method, path)

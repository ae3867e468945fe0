"""HTTP plumbing shared by every route: JSON responses, the one error shape, body limits.

Routes stay thin (parse, one service call, serialise); this module turns every failure
(a service error, a validation error, an unknown route, a database outage, a bug) into
the docs/http-api.md error body, and keeps oversized bodies out before any route sees them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.domain.errors import HubbubError, Unavailable, status_phrase
from hubbub.edge.http.openapi import allowed_methods
from hubbub.wire.json_depth import MAX_JSON_DEPTH, nested_too_deep

log = logging.getLogger("hubbub.http")

# Pydantic error types that mean "not one of the allowed values" (docs/http-api.md: 400).
_ENUM_ERRORS = frozenset({"enum", "literal_error"})


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(
        content=model.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"statusCode": status, "error": status_phrase(status), "message": message, "code": code}
    return Response(
        content=orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_response(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    first = errors[0] if errors else {"type": "missing", "loc": ("body",), "msg": "invalid"}
    if first["type"] == "json_invalid":
        return error_response(400, "invalid_json", "Malformed JSON body")
    field = _field_name(tuple(first.get("loc", ())))
    message = f"{field}: {first.get('msg', 'invalid')}"
    if first["type"] in _ENUM_ERRORS:
        return error_response(400, "invalid_enum", message)
    if first["type"] == "uuid_parsing" and tuple(first.get("loc", ()))[:1] == ("path",):
        # A malformed id in a path names nothing that exists.
        return error_response(404, "not_found", "Not found")
    return error_response(422, "validation_error", message)


def install_error_handlers(app: FastAPI) -> None:
    async def on_hubbub_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HubbubError)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path only.
            headers["Allow"] = allowed_methods(request.app, request.url.path)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, status_phrase(exc.status_code)
        )
        return error_response(exc.status_code, code, message, headers)

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _validation_response(exc)

    async def on_model_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        return _validation_response(RequestValidationError(exc.errors()))

    async def on_backend_down(_: Request, exc: Exception) -> Response:
        if (
            isinstance(exc, DBAPIError)
            and not exc.connection_invalidated
            and not _is_disconnect(exc)
        ):
            raise exc
        log.warning("backend unavailable: %s", type(exc).__name__)
        err = Unavailable()
        return error_response(err.status, err.code, err.message, {"Retry-After": "1"})

    async def on_unhandled(_: Request, exc: Exception) -> Response:
        return error_response(500, "internal_error", "Internal server error")

    app.add_exception_handler(Exception, on_unhandled)
    app.add_exception_handler(HubbubError, on_hubbub_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ValidationError, on_model_error)
    for exc_type in (
        DBAPIError,
        PoolTimeoutError,
        RedisConnectionError,
        RedisTimeoutError,
        ConnectionError,
        TimeoutError,
    ):
        app.add_exception_handler(exc_type, on_backend_down)


def _is_disconnect(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(
        needle in text
        for needle in ("connection", "closed", "terminat", "refused", "unable to open", "locked")
    )


class GuardMiddleware:
    """Outermost HTTP guard: caps JSON bodies, refuses bodies that are not JSON (415) or
    nest too deeply for the parser (400), and turns any escaped exception into a 500.

    Bodies of ordinary endpoints are read here, up to the cap, and replayed to the app;
    streaming endpoints (uploads) are listed in `streaming_paths` and enforce their own cap.
    The `form_paths` may be sent any body within the cap (an HTML form's from a page's
    button, a mail client's one-click unsubscribe, RFC 8058, in either form encoding),
    which their routes do not read.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        streaming_prefixes: tuple[str, ...],
        form_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.streaming_prefixes = streaming_prefixes
        self.form_paths = form_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            if scope["method"] in ("POST", "PUT", "PATCH", "DELETE") and not scope[
                "path"
            ].startswith(self.streaming_prefixes):
                body = await self._read_capped(scope, receive)
                if body is None:
                    await error_response(413, "payload_too_large", "Request body too large")(
                        scope, receive, send
                    )
                    return
                if body and scope["path"] not in self.form_paths and not _is_json(scope):
                    await error_response(
                        415, "unsupported_media_type", "Content-Type must be application/json"
                    )(scope, receive, send)
                    return
                if body and nested_too_deep(body):
                    await error_response(
                        400, "invalid_json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
                    )(scope, receive, send)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, tracking_send)
        except Exception:
            # Starlette has already answered with `on_unhandled` and re-raises for the
            # server to log; it is logged here once instead.
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if finished:
                return
            if started:
                raise
            await error_response(500, "internal_error", "Internal server error")(
                scope, receive, send
            )

    async def _read_capped(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body:
                        return None
                except ValueError:
                    return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _media_type(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type
    return None


def _is_json(scope: Scope) -> bool:
    """The request says its body is JSON (`application/json` or a `+json` type)."""
    media_type = _media_type(scope)
    return media_type is not None and (
        media_type == b"application/json" or media_type.endswith(b"+json")
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

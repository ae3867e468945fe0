"""Every HTTP request observed: its request id, its metrics, its access-log line.

`ObserveHttp` wraps the HTTP application and Socket.IO's long-polling requests. It takes the
caller's `X-Request-ID` when it is sane (1-128 letters, digits, `.`, `_`, `:` or `-`),
else makes one, sets it for the request's log lines (`hubbub.logs.request_id`) and
returns it as a response header. When the request ends it records the time by method,
route template (`/conversations/{conversation_id}`, never the raw path) and status,
counts an error answer by its status and code, and, with HUBBUB_ACCESS_LOG=true,
writes one line with the path's secret query parameters redacted.

`MetricsAccess` decides who may read `/metrics`.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub import logs
from hubbub.config import IPNetwork
from hubbub.metrics import Metrics
from hubbub.security.redact import redact_query

access = logging.getLogger("hubbub.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# An error body longer than this is not read for its code.
_MAX_ERROR_BODY = 8192


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return str(text)
            break
    return uuid.uuid4().hex


def _error_code(body: bytes) -> str:
    """The `code` of hubbub's error shape, or "other" (a body from elsewhere)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "other"
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return code if isinstance(code, str) and _SANE_ID.fullmatch(code) else "other"


def _route(scope: Scope) -> str:
    """The route template that answered; Socket.IO's long-polling path is one route."""
    template = getattr(scope.get("route"), "path", None)
    if template is not None:
        return str(template)
    return "/socket.io/" if scope.get("path", "").startswith("/socket.io/") else "unmatched"


class ObserveHttp:
    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics], *, access_log: bool) -> None:
        """`metrics()` is the node's (built with its services, in the lifespan)."""
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        rid_token = logs.request_id.set(rid)
        user_token = logs.user_id.set(None)
        started = time.perf_counter()
        status = 500
        error_body = bytearray()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            elif status >= 400 and len(error_body) < _MAX_ERROR_BODY:
                error_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            took = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = _route(scope)
            metrics = self.metrics()
            metrics.http_timer(method, route, status).observe(took)
            if status >= 400:
                code = _error_code(bytes(error_body)) if error_body else "other"
                metrics.http_errors.labels(str(status), code).inc()
            if self.access_log:
                self._log(scope, method, route, status, took)
            logs.user_id.reset(user_token)
            logs.request_id.reset(rid_token)

    def _log(self, scope: Scope, method: str, route: str, status: int, took: float) -> None:
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        if query:
            path = redact_query(f"{path}?{query.decode('latin-1')}")
        client = scope.get("client")
        named = scope.get("path_params", {}).get("conversation_id")
        about = {"conversation_id": str(named)} if named is not None else {}
        access.info(
            "%s %s %d %.1fms",
            method,
            path,
            status,
            took * 1000,
            extra={
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(took * 1000, 3),
                "client": client[0] if client else None,
                **about,
            },
        )


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read `/metrics`: a caller from `networks`, or one presenting `token` as
    a bearer token (when one is set)."""

    networks: tuple[IPNetwork, ...]
    token: str | None

    def allows(self, address: str, authorization: str | None) -> bool:
        if self.token is not None and authorization is not None:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                presented.strip().encode(), self.token.encode()
            ):
                return True
        try:
            caller = ip_address(address)
        except ValueError:
            return False
        return any(caller in network for network in self.networks)

"""The composition root: builds the ASGI application of one hubbub node.

`create_app(settings)` wires the FastAPI app (HTTP edge) and the python-socketio
server (Socket.IO edge) on one host and port. Everything stateful (engines, Redis
clients, services) is built in the lifespan and torn down with it; importing this
module creates nothing.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import socketio
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from hubbub import __version__
from hubbub.compose import build_services
from hubbub.compose_gateway import build_gateway
from hubbub.config import Settings
from hubbub.edge.http.apidocs import install_apidocs
from hubbub.edge.http.observe import MetricsAccess, ObserveHttp
from hubbub.edge.http.openapi import DocumentedAPI
from hubbub.edge.http.proxies import ForwardedFor
from hubbub.edge.http.responses import GuardMiddleware, install_error_handlers
from hubbub.edge.http.routes import (
    account,
    admin,
    auth,
    commands,
    conversations,
    digests,
    files,
    integrations,
    mentions,
    messages,
    ops,
    password_reset,
    push,
    spaces,
    users,
    webhooks,
)
from hubbub.edge.http.webui import install_web
from hubbub.edge.services import Services
from hubbub.edge.socket.engine import log_websocket_openings
from hubbub.edge.socket.gateway import GatewayServer, library_logger
from hubbub.edge.socket.manager import OwnRoomsManager
from hubbub.edge.socket.packets import FastJson, JsonPacket
from hubbub.tracing import Tracing, tracing_from_environment


@dataclass
class Node:
    """One node's parts: the ASGI callable to serve, and handles tests reach into."""

    asgi: ASGIApp
    http: FastAPI
    sio: GatewayServer

    @property
    def services(self) -> Services:
        services: Services = self.http.state.services
        return services


def create_app(
    settings: Settings, *, serving: bool = False, tracing: Tracing | None = None
) -> Node:
    """`serving=True` (the `hubbub serve` process, not tests) also tunes the garbage
    collector for a long-lived server, once start-up is done (`_tune_gc`). `tracing`:
    by default what the standard `OTEL_*` variables ask for (off when they ask nothing).
    """
    traces = tracing if tracing is not None else tracing_from_environment(os.environ)
    sio = GatewayServer(
        async_mode="asgi",
        # Origins are checked in the namespace's connect handler, so a refused browser
        # gets `connect_error` "unauthorized"; CORS headers come from the middleware.
        cors_allowed_origins=[],
        max_http_buffer_size=settings.max_socket_message_bytes,
        connect_timeout_s=settings.socket_connect_timeout_s,
        client_manager=OwnRoomsManager(),
        ping_interval=settings.socket_ping_interval_s,
        ping_timeout=settings.socket_ping_timeout_s,
        serializer=JsonPacket,
        # Engine.IO's packets too (python-engineio takes it for every server): it parses
        # any text packet that does not start with a digit as JSON, depth unchecked.
        json=FastJson,
        logger=library_logger("socketio"),
        engineio_logger=library_logger("engineio"),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, traces)
        app.state.services = services
        db = services.db
        traces.instrument_stores([db.read_engine, db.write_engine], services.redis)
        hub, namespace, unread = build_gateway(settings, services, sio)
        sio.register_namespace(namespace)
        services.db.start()
        await services.bus.start()
        refresher = asyncio.create_task(namespace.refresh_presence_forever())
        sweeper = asyncio.create_task(namespace.sweep_sessions_forever())
        # Email digests: only with SMTP configured and digests on.
        services.digests.start()
        # Outgoing webhooks: deliveries past each subscription's cursor, after commit.
        services.webhook_worker.start()
        app.state.hub = hub
        if serving:
            _tune_gc()
        stop_gc_timer = services.metrics.watch_gc()
        try:
            yield
        finally:
            stop_gc_timer()
            refresher.cancel()
            sweeper.cancel()
            await namespace.close()
            await unread.close()
            await hub.close()
            await services.close()
            traces.shutdown()

    http = DocumentedAPI(
        title="hubbub",
        version=__version__,
        description="Real-time chat server: HTTP API (this document) and a Socket.IO gateway "
        "on the namespace /messaging.",
        lifespan=lifespan,
        # Served by hubbub.edge.http.apidocs from the package, under a CSP.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    install_error_handlers(http)
    # The routers the clients call most first: FastAPI tries every route of every router
    # in this order until one matches (no prefix short-cut), at ~1-2 µs a route, and
    # the history page, 55th of 107 routes when its router came ninth, spent 7 % of its
    # CPU finding itself. No path of one router matches a route of another
    # (tests/test_app.py, "every route answers its own path"), so the order changes
    # nothing else.
    for router in (
        messages.router,
        conversations.router,
        admin.router,
        auth.router,
        password_reset.router,
        digests.router,
        account.router,
        integrations.router,
        users.router,
        mentions.router,
        spaces.router,
        files.router,
        push.router,
        webhooks.router,
        webhooks.bot_router,
        commands.router,
        ops.router,
    ):
        http.include_router(router)
    # The web client at / (after the API, so API paths keep their own answers).
    install_web(http)
    install_apidocs(http)
    traces.instrument_app(http)

    guarded = GuardMiddleware(
        http,
        max_body=settings.max_json_body_bytes,
        streaming_prefixes=("/files/upload",),
        form_paths=("/digests/unsubscribe",),
    )
    sio_asgi = socketio.ASGIApp(sio, other_asgi_app=guarded, socketio_path="socket.io")
    # Request ids, HTTP metrics and the access log (long-polling requests too, and each
    # WebSocket's opening).
    log_websocket_openings(settings.access_log)
    observed = ObserveHttp(
        sio_asgi, lambda: http.state.services.metrics, access_log=settings.access_log
    )
    cors = CORSMiddleware(
        observed,
        allow_origins=settings.origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # The client's address: the peer's, or what a trusted proxy says (HUBBUB_TRUSTED_PROXIES).
    routed = WebSocketsPast(http=cors, websocket=sio_asgi, engineio=sio.eio, path="/socket.io/")
    asgi = ForwardedFor(routed, settings.trusted_proxy_networks)
    http.state.sio = sio
    http.state.metrics_access = MetricsAccess(settings.metrics_networks, settings.metrics_token)
    return Node(asgi=asgi, http=http, sio=sio)


class HandlesRequests(Protocol):
    """Engine.IO's server, as far as `WebSocketsPast` calls it."""

    def handle_request(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[Any]: ...


class WebSocketsPast:
    """WebSocket scopes straight to Socket.IO, past `http`'s middlewares, which only act
    on HTTP (CORS, the access log and HTTP metrics) and would otherwise keep a coroutine
    frame each for the life of every socket; everything else to `http`. Not a coroutine
    either, so it adds no frame of its own. A WebSocket under `path` goes to Engine.IO's
    `handle_request` itself: python-socketio's ASGI app and server would only pass it
    on, and their two coroutines stay suspended for the whole session (0.6 KiB per idle
    socket, bench/memory_probe.py). Any other WebSocket goes to `websocket` (the ASGI
    app, which refuses it)."""

    def __init__(
        self, *, http: ASGIApp, websocket: ASGIApp, engineio: HandlesRequests, path: str
    ) -> None:
        self._http = http
        self._websocket = websocket
        self._engineio = engineio
        self._path = path

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "websocket":
            return self._http(scope, receive, send)
        path: str = scope["path"]
        if (path if path.endswith("/") else path + "/").startswith(self._path):
            return self._engineio.handle_request(scope, receive, send)
        return self._websocket(scope, receive, send)


def _tune_gc() -> None:
    """Fewer, cheaper cyclic collections. Under load a node allocates fast and holds many
    long-lived objects (statement caches, sockets, services); with the default
    thresholds the collector ran often and rescanned all of them (about 12 % of a busy
    node's CPU). What start-up built is moved out of the collector's sight for good.
    The young generation is kept at 10,000 objects: a collection of it stops the loop
    for its whole length, ~3 ms at this size; at 50,000 it took 12-37 ms every ~0.7 s
    under load, and those pauses were the p99 of `fanout` (71.6 ms, now 3.8 ms)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)

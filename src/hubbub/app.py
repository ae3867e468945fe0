"""The composition root: builds the ASGI application of one hubbub node.

`create_app(settings)` wires the FastAPI app (HTTP edge) and the python-socketio
server (Socket.IO edge) on one host and port. Everything stateful (engines, Redis
clients, services) is built in the lifespan and torn down with it; importing this
module creates nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import socketio
from fastapi import FastAPI
from starlette.types import ASGIApp

from hubbub import __version__
from hubbub.api.http import GuardMiddleware, install_error_handlers
from hubbub.api.routes import auth, conversations, files, messages, ops, spaces, users
from hubbub.api.webui import install_web
from hubbub.config import Settings
from hubbub.services.container import Services, build_services


@dataclass
class Node:
    """One node's parts: the ASGI callable to serve, and handles tests reach into."""

    asgi: ASGIApp
    http: FastAPI
    sio: socketio.AsyncServer

    @property
    def services(self) -> Services:
        services: Services = self.http.state.services
        return services


def create_app(settings: Settings) -> Node:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=settings.origins,
        logger=False,
        engineio_logger=False,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    http = FastAPI(
        title="hubbub",
        version=__version__,
        description="Real-time chat server: HTTP API (this document) and a Socket.IO gateway "
        "on the namespace /messaging.",
        lifespan=lifespan,
    )
    install_error_handlers(http)
    for router in (
        auth.router,
        users.router,
        conversations.router,
        messages.router,
        spaces.router,
        files.router,
        ops.router,
    ):
        http.include_router(router)
    # The web client at / (after the API, so API paths keep their own answers).
    install_web(http)

    guarded = GuardMiddleware(
        http, max_body=settings.max_json_body_bytes, streaming_prefixes=("/files/upload",)
    )
    asgi = socketio.ASGIApp(sio, other_asgi_app=guarded, socketio_path="socket.io")
    http.state.sio = sio
    return Node(asgi=asgi, http=http, sio=sio)

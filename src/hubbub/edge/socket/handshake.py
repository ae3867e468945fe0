"""Who is connecting: the Socket.IO handshake's checks, before the namespace indexes it.

`MessagingNamespace.on_connect` -> here -> the auth action. A refused handshake raises
python-socketio's `ConnectionRefusedError`, which the client gets as `connect_error`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import socketio

from hubbub.actions.auth import AuthService, Principal
from hubbub.domain.errors import Forbidden, Unauthorized
from hubbub.domain.token_rules import Scope

log = logging.getLogger("hubbub.edge.socket")


async def authenticate_handshake(
    auth_service: AuthService,
    allowed_origins: frozenset[str],
    environ: dict[str, Any],
    auth: Any,
) -> Principal:
    """The handshake's principal: an allowed origin (browsers), a valid token (in the
    `auth` payload or an Authorization header), and the `userId` it claims, if any."""
    origin = environ.get("HTTP_ORIGIN")
    if origin and origin.rstrip("/").lower() not in allowed_origins:
        log.info("refused socket from origin %s", urlsplit(origin).netloc or "?")
        raise socketio.exceptions.ConnectionRefusedError("unauthorized")
    token = _token(auth, environ)
    if token is None:
        raise socketio.exceptions.ConnectionRefusedError("unauthorized")
    try:
        principal = await auth_service.authenticate(token, Scope.READ)
    except (Unauthorized, Forbidden):  # Forbidden: an API token without the read scope
        raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
    claimed = auth.get("userId") if isinstance(auth, dict) else None
    if claimed is not None and str(claimed) != str(principal.user_id):
        raise socketio.exceptions.ConnectionRefusedError("unauthorized")
    return principal


def _token(auth: Any, environ: dict[str, Any]) -> str | None:
    if isinstance(auth, dict):
        token = auth.get("token")
        if isinstance(token, str) and token:
            return token.removeprefix("Bearer ").strip()
    header = environ.get("HTTP_AUTHORIZATION", "")
    if isinstance(header, str) and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None

"""The client's address behind a reverse proxy (HUBBUB_TRUSTED_PROXIES).

uvicorn's own proxy-header handling is off (`hubbub serve` starts it so): it believes
`X-Forwarded-For` from 127.0.0.1 by default, so any local client could pick its address
per request. Here the header is believed only when the peer is a trusted proxy, and
then the client is the rightmost address of the header that is not a trusted proxy
itself: addresses left of it were written by the client and prove nothing. The ASGI
scope's `client` is replaced, so that HTTP routes and Socket.IO handshakes alike see
the client's address; `X-Forwarded-Proto` from a trusted proxy sets the scheme.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address

from starlette.types import ASGIApp, Receive, Scope, Send

from hubbub.config import IPNetwork

_SCHEMES = {
    "http": {"http": "http", "https": "https"},
    "websocket": {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"},
}


class ForwardedFor:
    def __init__(self, app: ASGIApp, trusted: Iterable[IPNetwork]) -> None:
        self.app = app
        self._trusted = tuple(trusted)

    def _is_trusted(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in net for net in self._trusted)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the app's own is returned, with no frame of this one kept
        # beside it for the life of every WebSocket.
        peer = scope.get("client")
        if (
            scope["type"] in _SCHEMES
            and peer is not None
            and self._trusted
            and self._is_trusted(peer[0])
        ):
            scope = dict(scope)
            forwarded = _header_values(scope, b"x-forwarded-for")
            client = self.client_of(forwarded) if forwarded else None
            if client is not None and _address(client) is not None:
                scope["client"] = (client.strip("[]"), 0)
            proto = _header_values(scope, b"x-forwarded-proto")
            scheme = _SCHEMES[scope["type"]].get(proto[-1].lower()) if proto else None
            if scheme is not None:
                scope["scheme"] = scheme
        return self.app(scope, receive, send)

    def client_of(self, forwarded: list[str]) -> str:
        """The rightmost address not a trusted proxy (the leftmost if all are)."""
        for host in reversed(forwarded):
            if not self._is_trusted(host):
                return host
        return forwarded[0]


def _address(host: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def _header_values(scope: Scope, name: bytes) -> list[str]:
    """Every comma-separated item of every header `name`, in order, blanks dropped."""
    items: list[str] = []
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            items += [v.strip() for v in value.decode("latin-1").split(",") if v.strip()]
    return items

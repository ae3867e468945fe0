"""Client addresses behind a proxy, against real `hubbub serve` processes.

The per-address login limit must count the real client: `X-Forwarded-For` is believed
only from a proxy named in HUBBUB_TRUSTED_PROXIES (nothing by default), and then only
its rightmost address that is not itself a trusted proxy.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from starlette.types import Receive, Scope, Send

from hubbub.config import Settings
from hubbub.edge.http.proxies import ForwardedFor
from tests.conftest import Backend
from tests.gw import own_database, start_server

# Three failures per address; the per-name limits stay out of the way.
LIMITS = {
    "HUBBUB_LOGIN_MAX_FAILURES_PER_ADDRESS": "3",
    "HUBBUB_LOGIN_MAX_FAILURES_PER_IDENTIFIER": "50",
}


@contextlib.asynccontextmanager
async def node(
    backend: Backend, directory: Path, settings: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    async with own_database(backend, directory) as env:
        server = start_server(directory, env | LIMITS | settings)
        try:
            async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
                yield http
        finally:
            server.stop()


async def failed_login(http: httpx.AsyncClient, n: int, forwarded_for: str) -> int:
    response = await http.post(
        "/auth/login",
        json={"email": f"nobody{n}@example.com", "password": "wrong guess"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


async def test_forwarded_for_is_ignored_by_default(backend: Backend, tmp_path: Path) -> None:
    async with node(backend, tmp_path, {}) as http:
        # Every attempt claims another address: all of them are 127.0.0.1's.
        answers = [await failed_login(http, n, f"192.0.2.{n}") for n in range(4)]
    assert answers == [401, 401, 401, 429]


async def test_forwarded_for_from_a_trusted_proxy(backend: Backend, tmp_path: Path) -> None:
    async with node(backend, tmp_path, {"HUBBUB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}) as http:
        answers = [await failed_login(http, n, "192.0.2.9") for n in range(3)]
        assert answers == [401, 401, 401]
        # The client's own address: refused, whatever it puts left of it, and through a
        # second trusted proxy.
        assert await failed_login(http, 10, "192.0.2.9") == 429
        assert await failed_login(http, 11, "203.0.113.1, 192.0.2.9") == 429
        assert await failed_login(http, 12, "192.0.2.9, 10.1.2.3") == 429
        # Another client behind the same proxy has a bucket of its own.
        assert await failed_login(http, 13, "192.0.2.10") == 401
        # No header: the proxy itself.
        assert await failed_login(http, 14, "") == 401


def test_the_client_is_the_rightmost_untrusted_address() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    settings = Settings(_env_file=None, trusted_proxies="10.0.0.0/8, ::1")  # type: ignore[call-arg]
    proxies = ForwardedFor(app, settings.trusted_proxy_networks)
    assert proxies.client_of(["198.51.100.1"]) == "198.51.100.1"
    assert proxies.client_of(["6.6.6.6", "198.51.100.1", "10.0.0.2"]) == "198.51.100.1"
    assert proxies.client_of(["2001:db8::5", "::1"]) == "2001:db8::5"
    assert proxies.client_of(["10.0.0.3", "10.0.0.2"]) == "10.0.0.3"  # all trusted

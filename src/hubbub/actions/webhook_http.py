"""One outgoing webhook request: resolve, check the address, sign, POST.

Used by the worker (`hubbub.actions.webhook_worker`) for every attempt, and by the
subscription service (`hubbub.actions.event_subscriptions`) to check an endpoint when it is
registered. The host is resolved here and the connection made to the very address
checked (the request keeps the URL's host in `Host` and in TLS's server name), so a name
that resolves to a public address when checked and to a private one when connected
(DNS rebinding) reaches nothing private.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address
from urllib.parse import urlsplit, urlunsplit

import httpx

from hubbub.domain.webhook_rules import Address, Network, address_refused
from hubbub.security.webhooks import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

# At most this much of an answer is read (an inline reply is short).
MAX_ANSWER_BYTES = 64 * 1024


class AddressRefused(Exception):
    """The endpoint's host is, or resolves to, an address the server must not call."""


async def checked_addresses(url: str, allowed: Sequence[Network]) -> list[Address]:
    """Every address the URL's host resolves to, all of them allowed; else AddressRefused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses: list[Address] = [ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise AddressRefused(f"cannot resolve {host[:100]}: {reason}") from exc
        addresses = list(dict.fromkeys(ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    refused = [a for a in addresses if address_refused(a, allowed)]
    if refused:
        raise AddressRefused(
            f"{host} is a private, loopback, link-local or reserved address ({refused[0]}); "
            "the operator may allow its network (HUBBUB_WEBHOOK_ALLOW_NETWORKS)"
        )
    return addresses


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def _pinned(url: str, address: Address) -> str:
    parts = urlsplit(url)
    literal = f"[{address}]" if isinstance(address, IPv6Address) else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


async def post_event(
    http: httpx.AsyncClient,
    url: str,
    *,
    secret: str,
    event_id: str,
    event: str,
    body: bytes,
    allowed: Sequence[Network],
) -> Answer:
    """POST a signed event to the first checked address of `url`'s host. Raises
    AddressRefused, or httpx's errors for a connection that failed or timed out."""
    address = (await checked_addresses(url, allowed))[0]
    parts = urlsplit(url)
    host_header = parts.netloc.rsplit("@", 1)[-1]
    headers = {
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": "hubbub-webhooks",
        SIGNATURE_HEADER: signature_header(secret, int(time.time()), body),
        EVENT_ID_HEADER: event_id,
        EVENT_HEADER: event,
    }
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    request = http.build_request(
        "POST", _pinned(url, address), content=body, headers=headers, extensions=extensions
    )
    response = await http.send(request, stream=True)
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_ANSWER_BYTES:
                break
        return Answer(response.status_code, b"".join(chunks)[:MAX_ANSWER_BYTES])
    finally:
        await response.aclose()

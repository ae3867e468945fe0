"""Receiving hubbub's outgoing webhooks: check a delivery's signature, read its event.

A bot's HTTP endpoint gets each event as a POST whose `X-Hubbub-Signature` header is
`t=<unix seconds>,v1=<hex HMAC-SHA256 of f"{t}.{body}" with the subscription's secret>`
(docs/integrations.md). `verify` checks it over the body's exact bytes and refuses a
timestamp too far from now (a replayed request); `read_event` does that and returns the
typed event. The event id (`event.id`, also `X-Hubbub-Event-Id`) is the same on every
retry of one event: a receiver that must act once de-duplicates on it.

`WebhookEndpoint` is a ready receiver (an aiohttp server): it checks each delivery,
passes each event once to the bot's handler, and answers with the handler's reply,
which hubbub posts as the bot (or, for a command, may show to its caller only).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from hubbub.wire.webhooks import WebhookEvent, WebhookReply

SIGNATURE_HEADER = "X-Hubbub-Signature"
# How far a signature's timestamp may be from the receiver's clock.
TOLERANCE_S = 300


class InvalidSignature(Exception):
    """The request was not signed with this secret, or not recently."""


def verify(
    secret: str,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float = TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise InvalidSignature unless `signature` (the header's value) signs `body`."""
    fields: dict[str, list[str]] = {}
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise InvalidSignature("no timestamp in the signature") from None
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance_s:
        raise InvalidSignature("the signature's timestamp is too old (or in the future)")
    signed = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, given) for given in fields.get("v1", [])):
        raise InvalidSignature("the signature does not match")


def read_event(secret: str, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """The delivery's event, its signature checked (InvalidSignature otherwise)."""
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
    verify(secret, body, signature)
    return WebhookEvent.model_validate_json(body)


Handler = Callable[[WebhookEvent], Awaitable[WebhookReply | None]]


class WebhookEndpoint:
    """`WebhookEndpoint(handle)`, then `await start(host, port)`: POSTs to `path` are
    checked with `secret` (set it to the subscription's, which the server shows when
    subscribing), each event id is handled once (a retry of one already answered gets
    204) and `handle`'s reply, if any, is the answer."""

    def __init__(self, handle: Handler, *, path: str = "/hook", remember: int = 1000) -> None:
        self.secret = ""
        self.path = path
        self._handle = handle
        self._seen: deque[str] = deque(maxlen=remember)
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = read_event(self.secret, body, dict(request.headers))
        except InvalidSignature:
            return web.Response(status=401)
        if str(event.id) in self._seen:
            return web.Response(status=204)
        reply = await self._handle(event)
        self._seen.append(str(event.id))
        if reply is None:
            return web.Response(status=204)
        return web.json_response(reply.model_dump(mode="json", exclude_none=True))

"""Web Push delivery (RFC 8030): one encrypted push to one browser's push service.

The notifier (`hubbub.realtime.notifier`) -> here -> the push service over HTTPS. Each
push's body is encrypted for its subscription alone (RFC 8291, `aes128gcm`, with a
fresh key pair and salt each time: `http_ece`) and signed with the server's VAPID key
(RFC 8292: `Authorization: vapid t=<JWT>,k=<public key>`, the JWT's `aud` the push
service's origin). The HTTP request is the standard library's, blocking: it runs in a
worker thread, at most `concurrency` at once and each bounded by `timeout_s`, so the
event loop never waits for a push service. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger("hubbub.push")

# How long a push service keeps a push for a browser that is offline (RFC 8030 TTL).
PUSH_TTL_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class PushTarget:
    """A subscription to push to: its id, its owner, its endpoint and keys (base64url)."""

    subscription_id: uuid.UUID
    user_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str


class PushResult(enum.Enum):
    DELIVERED = "delivered"
    GONE = "gone"  # 404 or 410: the subscription expired or was withdrawn
    FAILED = "failed"


class Signer(Protocol):
    """The server's VAPID key (`hubbub.security.vapid.VapidKey`)."""

    def authorization(self, audience: str) -> str: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _b64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def encrypt(target: PushTarget, payload: bytes) -> bytes:
    """The `aes128gcm` body for this subscription (RFC 8291)."""
    body: bytes = http_ece.encrypt(
        payload,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=_b64(target.p256dh),
        auth_secret=_b64(target.auth),
        version="aes128gcm",
    )
    return body


class WebPushSender:
    def __init__(self, signer: Signer, *, concurrency: int, timeout_s: float) -> None:
        self._signer = signer
        self._slots = asyncio.Semaphore(concurrency)
        self._timeout = timeout_s
        self._opener = urllib.request.build_opener(_NoRedirects())

    async def send(self, target: PushTarget, payload: bytes) -> PushResult:
        async with self._slots:
            try:
                return await asyncio.to_thread(self._post, target, payload)
            except Exception:  # a bug here must not stop the other pushes
                log.exception("web push: sending failed")
                return PushResult.FAILED

    def _post(self, target: PushTarget, payload: bytes) -> PushResult:
        parts = urlsplit(target.endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        request = urllib.request.Request(  # noqa: S310 (the endpoint's scheme is checked on subscribing)
            target.endpoint,
            data=encrypt(target, payload),
            method="POST",
            headers={
                "Authorization": self._signer.authorization(audience),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(PUSH_TTL_S),
                "Urgency": "high",
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:  # refused, timed out, TLS, a bad URL
            log.warning("web push to %s failed: %s", parts.netloc, exc)
            return PushResult.FAILED
        if 200 <= status < 300:
            return PushResult.DELIVERED
        if status in (404, 410):
            return PushResult.GONE
        log.warning("web push to %s answered %d", parts.netloc, status)
        return PushResult.FAILED

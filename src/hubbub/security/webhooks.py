"""Signing outgoing webhooks: `X-Hubbub-Signature: t=<unix seconds>,v1=<hex>`, where
hex is HMAC-SHA256 with the subscription's secret over `f"{t}.{body}"` (the body's
exact bytes). The receiver recomputes it and refuses an old `t` (replays); the SDK's
`hubbub.client.webhooks.verify` does both. Secrets are made here too."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Hubbub-Signature"
EVENT_ID_HEADER = "X-Hubbub-Event-Id"
EVENT_HEADER = "X-Hubbub-Event"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"

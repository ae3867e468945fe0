"""Unsubscribe tokens: the capability in a digest email's unsubscribe link.

A token is `<user id, base64url>.<HMAC-SHA256(key, "digests:<user id>"), base64url>`,
the key derived from the node's signing key with a distinct label (never confused with
a JWT or a file URL). It names one user and does one thing, turning their digests off;
it does not expire, as unsubscribe links in old emails must keep working. Without the
signing key it cannot be made: guessing one is guessing 256 bits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid

MAX_TOKEN_CHARS = 128


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeTokens:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"hubbub digest unsubscribe", hashlib.sha256).digest()

    def _sig(self, user_id: uuid.UUID) -> bytes:
        return hmac.new(self._key, f"digests:{user_id}".encode(), hashlib.sha256).digest()

    def make(self, user_id: uuid.UUID) -> str:
        return f"{_b64(user_id.bytes)}.{_b64(self._sig(user_id))}"

    def read(self, token: str) -> uuid.UUID | None:
        """The user a genuine token names, or None."""
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            return None
        try:
            user_id = uuid.UUID(bytes=_unb64(token.split(".", maxsplit=1)[0]))
        except (ValueError, binascii.Error):
            return None
        # The whole token compared: one user, one spelling.
        if not hmac.compare_digest(self.make(user_id).encode(), token.encode()):
            return None
        return user_id

"""The server's VAPID key (RFC 8292): it signs every Web Push request, and browsers
subscribe with its public half so that only this server can push to them.

Given by `HUBBUB_PUSH_VAPID_PRIVATE_KEY` (a PEM; the same on every node), or generated on
first start and kept in the data dir (`vapid.pem`, 0600) like the signing key: a new key
would orphan every subscription.
"""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from hubbub.config import PRIVATE_FILE, SettingError, Settings, keep_private

# How long one VAPID signature is good for (RFC 8292 allows up to 24 hours).
TOKEN_TTL_S = 12 * 3600


class VapidKey:
    def __init__(self, pem: bytes, subject: str) -> None:
        self._vapid = Vapid02.from_pem(pem)
        self._subject = subject
        raw = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        # One signature per push service origin, reused until it nears its expiry.
        self._tokens: dict[str, tuple[float, str]] = {}

    def authorization(self, audience: str) -> str:
        """The `Authorization: vapid t=...,k=...` header for a push service origin."""
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and cached[0] - now > TOKEN_TTL_S / 2:
            return cached[1]
        expires = int(now) + TOKEN_TTL_S
        claims = {"aud": audience, "exp": expires, "sub": self._subject}
        header = str(self._vapid.sign(claims)["Authorization"])
        if len(self._tokens) > 1000:  # push services are few; never a leak
            self._tokens.clear()
        self._tokens[audience] = (expires, header)
        return header


def vapid_key(settings: Settings) -> VapidKey:
    subject = settings.push_subject or _default_subject(settings)
    if settings.push_vapid_private_key is not None:
        pem = settings.push_vapid_private_key.replace("\\n", "\n").encode()
        try:
            return VapidKey(pem, subject)
        except Exception as exc:
            raise SettingError(
                "HUBBUB_PUSH_VAPID_PRIVATE_KEY", "not a P-256 private key PEM"
            ) from exc
    key_file = settings.ensure_data_dir() / "vapid.pem"
    try:
        if not key_file.exists():
            fresh = Vapid02()
            fresh.generate_keys()
            key_file.touch(mode=PRIVATE_FILE)
            key_file.write_bytes(fresh.private_pem())
        keep_private(key_file, PRIVATE_FILE)
        return VapidKey(key_file.read_bytes(), subject)
    except OSError as exc:
        raise SettingError(
            "HUBBUB_DATA_DIR", f"cannot keep the Web Push key: {exc.strerror}"
        ) from exc


def _default_subject(settings: Settings) -> str:
    public = settings.effective_public_url
    if public.startswith("https://"):
        return public
    return "mailto:hubbub@localhost"

"""Signed file URLs, so a browser can load `<img src>` without an Authorization header.

A URL carries `exp` (unix seconds) and `sig` = HMAC-SHA256(key, "<file id>:<exp>").
Expiry is rounded up to whole days so a file's URL stays the same for a day (caches
and clients keep it) and is valid between one and two `ttl_days`. The signature is a
capability for that one file until `exp`; it is derived from the node's signing key
with a distinct label, so it can never be confused with a JWT.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from urllib.parse import quote

DAY_S = 86_400


class FileUrlSigner:
    def __init__(self, secret: str, *, ttl_days: int = 7) -> None:
        self._key = hmac.new(secret.encode(), b"hubbub file urls", hashlib.sha256).digest()
        self._ttl_s = ttl_days * DAY_S

    def _sig(self, file_id: uuid.UUID, exp: int) -> str:
        message = f"{file_id}:{exp}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def url(self, file_id: uuid.UUID, filename: str, *, thumbnail: bool = False) -> str:
        now = int(time.time())
        exp = (now // DAY_S + 1) * DAY_S + self._ttl_s
        path = f"/files/{file_id}/{quote(filename, safe='')}"
        query = f"exp={exp}&sig={self._sig(file_id, exp)}"
        if thumbnail:
            query = "thumbnail=1&" + query
        return f"{path}?{query}"

    def verify(self, file_id: uuid.UUID, exp: str | None, sig: str | None) -> bool:
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            return False
        if int(exp) < time.time():
            return False
        return hmac.compare_digest(self._sig(file_id, int(exp)), sig)

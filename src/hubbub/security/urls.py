"""Signed file URLs, so a browser can load `<img src>` without an Authorization header.

A URL carries `exp` (unix seconds) and `sig` = HMAC-SHA256(key, "<file id>:<exp>").
URLs are short-lived and made anew on every read (HUBBUB_FILE_URL_TTL_S, 10 minutes by
default): `exp` is the time of signing plus the TTL, rounded up to a step of a fifth of
the TTL, so a file's URL stays the same for that step (caches and clients keep it) and
is valid for between one and 1.2 TTLs. The signature is a capability for that one file
until `exp`, and the download still checks that the file is in use
(`hubbub.queries.files`). It is derived from the node's signing key with a distinct
label, so it can never be confused with a JWT.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from urllib.parse import quote

# The name in an avatar's URL (cosmetic: the id names the file).
AVATAR_NAME = "avatar"


class FileUrlSigner:
    def __init__(self, secret: str, *, ttl_s: int) -> None:
        self._key = hmac.new(secret.encode(), b"hubbub file urls", hashlib.sha256).digest()
        self._ttl_s = ttl_s
        self._step_s = max(1, ttl_s // 5)

    @property
    def lifetime_s(self) -> int:
        """The longest a URL made now stays valid."""
        return self._ttl_s + self._step_s

    def _sig(self, file_id: uuid.UUID, exp: int) -> str:
        message = f"{file_id}:{exp}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def url(self, file_id: uuid.UUID, filename: str, *, thumbnail: bool = False) -> str:
        due = int(time.time()) + self._ttl_s
        exp = -(-due // self._step_s) * self._step_s
        path = f"/files/{file_id}/{quote(filename, safe='')}"
        query = f"exp={exp}&sig={self._sig(file_id, exp)}"
        if thumbnail:
            query = "thumbnail=1&" + query
        return f"{path}?{query}"

    def avatar_url(self, file_id: uuid.UUID | None) -> str | None:
        """The URL of an avatar kept by its file id (None: no avatar)."""
        return None if file_id is None else self.url(file_id, AVATAR_NAME)

    def verify(self, file_id: uuid.UUID, exp: str | None, sig: str | None) -> bool:
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            return False
        if int(exp) < time.time():
            return False
        return hmac.compare_digest(self._sig(file_id, int(exp)), sig)

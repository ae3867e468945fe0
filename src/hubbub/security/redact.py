"""Secrets out of the log: query parameters that carry a credential are redacted.

A client may put a token in a URL (`/socket.io/?token=…`); signed file URLs carry their
signature (`sig`). The server's request lines (uvicorn's WebSocket lines, and its access
log when enabled) show the path with its query; `RedactSecrets` rewrites such a line's
arguments so that the value of every parameter named in `SECRET_PARAMETERS` reads
`[redacted]`, whatever its case or encoding.
"""

from __future__ import annotations

import logging
import re

# Compared without case, "-" or "_": `accessToken`, `Access-Token`, `access_token` alike.
# `sid` is an Engine.IO session id: whoever has it can read a long-polling session.
SECRET_PARAMETERS = (
    "token",
    "access_token",
    "refresh_token",
    "auth",
    "authorization",
    "jwt",
    "sid",
    "sig",
    "signature",
    "password",
    "secret",
    "key",
    "api_key",
    "code",
)

REDACTED = "[redacted]"

_PARAMETER = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;#\s\"]+)=(?P<value>[^&;#\s\"]*)")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _folded(name: str) -> str:
    decoded = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), name).replace("+", " ")
    return decoded.strip().lower().replace("-", "").replace("_", "")


_SECRET_NAMES = frozenset(_folded(n) for n in SECRET_PARAMETERS)


def redact_query(text: str) -> str:
    """`text` with the value of every secret query parameter replaced."""
    if "=" not in text:
        return text

    def replace(m: re.Match[str]) -> str:
        if _folded(m.group("name")) in _SECRET_NAMES:
            return f"{m.group('lead')}{m.group('name')}={REDACTED}"
        return m.group(0)

    return _PARAMETER.sub(replace, text)


class RedactSecrets(logging.Filter):
    """A logging filter for request lines: redacts secret query parameters in the
    record's arguments (and its message, for a line logged preformatted)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        return True

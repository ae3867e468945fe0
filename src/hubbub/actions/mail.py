"""Sending email: password-reset messages and digests, over SMTP (HUBBUB_SMTP_URL).

`smtp://[user:pass@]host[:port]` talks plain SMTP (port 25 by default) and upgrades
with STARTTLS when the server offers it; `smtps://user:pass@host[:port]` speaks TLS from
the first byte (port 465 by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib


class Mailer(Protocol):
    async def send(
        self, to: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None: ...


class SmtpMailer:
    def __init__(self, url: str, sender: str, *, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender
        self._timeout_s = timeout_s

    async def send(
        self, to: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._tls,
            start_tls=False if self._tls else None,
            timeout=self._timeout_s,
        )

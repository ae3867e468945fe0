"""A real SMTP server for tests (aiosmtpd on a thread of its own, on the loopback): the
node sends to it over TCP as it would to any mail server, and the tests read what it
received."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.gw import free_port


class Inbox:
    """What the SMTP server received: (recipients, message), in order. The server runs
    on a thread of its own; each new message wakes the tests waiting on their loop."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        # Mail for these addresses is refused (550), as a server that will not take it.
        self.refuse: set[str] = set()
        self._waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        if self.refuse & {str(to) for to in envelope.rcpt_tos}:
            return "550 Mailbox unavailable"
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(([str(to) for to in envelope.rcpt_tos], message))
        for loop, arrived in list(self._waiting):
            loop.call_soon_threadsafe(arrived.set)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]

    async def wait_for(self, address: str, count: int = 1, within: float = 10.0) -> EmailMessage:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        self._waiting.add(waiter)
        try:
            async with asyncio.timeout(within):
                while len(self.to(address)) < count:
                    await waiter[1].wait()
                    waiter[1].clear()
        finally:
            self._waiting.discard(waiter)
        return self.to(address)[count - 1]


@pytest.fixture(scope="module", name="smtp")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A started SMTP server: (its inbox, its port); import it to use it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()

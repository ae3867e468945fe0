"""An echo bot on outgoing webhooks: hubbub POSTs it every mention of it and every
direct message to it, and it answers each in the HTTP response, which hubbub posts as
the bot. No socket: the bot is an HTTP endpoint (docs/integrations.md).

Start a server that may call the bot on this host (`HUBBUB_WEBHOOK_ALLOW_NETWORKS=127.0.0.1`
in its environment), then run, from the repository, with the bot's password in PASSWORD:

    .venv/bin/python examples/echo_webhook_bot.py http://127.0.0.1:8000 echo_hook "$PASSWORD" 8081

It signs up on its first run (then signs in), listens on 127.0.0.1:8081 and subscribes
that address. Mention it in a conversation it is in, or write to it directly.
"""

from __future__ import annotations

import asyncio
import sys

from hubbub.client import AsyncClient
from hubbub.client.webhooks import WebhookEndpoint
from hubbub.wire.webhooks import WebhookEvent, WebhookReply


async def echo(event: WebhookEvent) -> WebhookReply | None:
    if event.message is None:
        return None  # a ping
    return WebhookReply(content=f"echo: {event.message.content}")


async def main(url: str, name: str, password: str, port: str = "8081") -> None:
    endpoint = WebhookEndpoint(echo)
    await endpoint.start("127.0.0.1", int(port))
    try:
        async with AsyncClient(url) as client:
            await client.login_or_register(name, password)
            made = await client.subscribe_events(
                f"http://127.0.0.1:{port}/hook", ["mention", "direct"]
            )
            endpoint.secret = made.secret
            try:
                await asyncio.Event().wait()  # serve until cancelled
            finally:
                await client.unsubscribe_events(made.subscription.id)
    finally:
        await endpoint.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

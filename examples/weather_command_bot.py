"""A `/weather` slash command bot on outgoing webhooks: in every conversation it is
added to, it registers `/weather`; `/weather Paris` there is not posted but comes to
the bot, which answers with a forecast posted as the bot; `/weather` alone gets a usage
hint shown to the caller only (docs/integrations.md). The forecast is made up from the
city's name: this example calls no weather service.

Start a server that may call the bot on this host (`HUBBUB_WEBHOOK_ALLOW_NETWORKS=127.0.0.1`
in its environment), then run, from the repository, with the bot's password in PASSWORD:

    .venv/bin/python examples/weather_command_bot.py http://127.0.0.1:8000 weather "$PASSWORD" 8082

Add it to a conversation (it is found by name) and type `/weather Oslo` (it registers
the command in the conversations it is in when it starts, and in those it joins).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import uuid

from hubbub.client import AsyncClient, ConversationCreated, HubbubError
from hubbub.client.webhooks import WebhookEndpoint
from hubbub.wire.webhooks import WebhookEvent, WebhookReply

SKIES = ("sunny", "cloudy", "rainy", "windy", "snowy", "foggy")


def forecast(city: str) -> str:
    """A stable, made-up forecast for a city."""
    digest = hashlib.sha256(city.strip().lower().encode()).digest()
    return f"Weather for {city.strip()}: {SKIES[digest[0] % len(SKIES)]}, {digest[1] % 35 - 5} °C"


async def answer(event: WebhookEvent) -> WebhookReply | None:
    command = event.command
    if command is None or command.name != "weather":
        return None
    if not command.args:
        return WebhookReply(content="Usage: /weather <city>", ephemeral=True)
    return WebhookReply(content=forecast(command.args))


async def main(url: str, name: str, password: str, port: str = "8082") -> None:
    endpoint = WebhookEndpoint(answer)
    await endpoint.start("127.0.0.1", int(port))
    try:
        async with AsyncClient(url) as client:
            await client.login_or_register(name, password)
            made = await client.subscribe_events(f"http://127.0.0.1:{port}/hook", ["command"])
            endpoint.secret = made.secret

            async def register(conversation_id: uuid.UUID) -> None:
                await client.register_command(
                    conversation_id, "weather", description="a forecast: /weather <city>"
                )

            @client.on(ConversationCreated)
            async def added(event: ConversationCreated) -> None:
                await register(event.conversation.id)

            # Connected first, so that a conversation it joins meanwhile is heard of.
            await client.connect()
            for conversation in (await client.conversations(limit=100)).conversations:
                try:
                    await register(conversation.id)
                except HubbubError as error:  # e.g. left meanwhile: the others still get it
                    print(f"/weather not registered in {conversation.id}: {error}", file=sys.stderr)
            try:
                await client.run_forever()
            finally:
                await client.unsubscribe_events(made.subscription.id)
    finally:
        await endpoint.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

"""An echo bot: it answers every text message it hears with the same text.

Start a server (`scripts/serve`), make a bot and a token for it (the web client's
Settings > Integrations, or `AsyncClient.create_bot` and `create_token`), then run, from
the repository:

    .venv/bin/python examples/echo_bot.py http://127.0.0.1:8000 "$BOT_TOKEN"

Add the bot to a conversation and say something. Without a token it runs as a plain
account, signing up on its first run:

    .venv/bin/python examples/echo_bot.py http://127.0.0.1:8000 echo_bot 'a long password'
"""

from __future__ import annotations

import asyncio
import sys

from hubbub.client import AsyncClient, NewMessage


async def main(url: str, token_or_name: str, password: str | None = None) -> None:
    async with AsyncClient(url) as client:
        if password is None:  # a bot's API token
            await client.login_with_token(token_or_name)
        else:  # a plain account, made on the first run
            await client.login_or_register(token_or_name, password)

        @client.on(NewMessage)
        async def echo(event: NewMessage) -> None:
            message = event.message
            # Its own messages come back too (every message comes once): skip those.
            if message.sender_id != client.user.id and message.type.value == "TEXT":
                await client.send(event.conversation_id, message.content)

        await client.connect()
        await client.run_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

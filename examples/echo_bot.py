"""An echo bot: it answers every text message it hears with the same text.

Start a server (`scripts/serve`), then run, from the repository:

    .venv/bin/python examples/echo_bot.py http://127.0.0.1:8000 echo_bot 'a long password'

It signs up on its first run, and from then on signs in. Add it to a conversation (it is
found by name, `echo_bot`) and say something.
"""

from __future__ import annotations

import asyncio
import sys

from hubbub.client import AsyncClient, NewMessage


async def main(url: str, name: str, password: str) -> None:
    async with AsyncClient(url) as client:
        await client.login_or_register(name, password)

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

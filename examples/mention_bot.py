"""A bot that answers when it is mentioned, in the thread of the message that did.

Start a server (`scripts/serve`), then run, from the repository:

    .venv/bin/python examples/mention_bot.py http://127.0.0.1:8000 "$BOT_TOKEN"

with a bot's API token (or `helper 'a long password'` in its place, as a plain account).

Mention it (`@helper` in the web client, or `mentions=[its id]` from the SDK) in a
conversation it is in, or mention everyone.
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
        async def answer(event: NewMessage) -> None:
            message = event.message
            called = client.user.id in message.mentions or message.metadata.get("mentionAll")
            if called and message.sender_id != client.user.id:
                who = message.sender.username if message.sender else "there"
                await client.send(
                    event.conversation_id,
                    f"Hello {who}, you called? I heard: {message.content}",
                    reply_to=message.thread_id or message.id,
                )

        await client.connect()
        await client.run_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

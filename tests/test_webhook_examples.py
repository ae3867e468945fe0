"""The outgoing webhook bots of examples/ run against a real server, with the SDK: the
echo bot answers a mention and a direct message in its HTTP response, the weather bot
registers `/weather` where it is added and answers the command."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hubbub.client import AsyncClient, CommandSent, NewMessage
from tests.conftest import Backend
from tests.gw import Server, free_port, serving
from tests.hooks import HOOK_ENV
from tests.sdk import FAST, signed_up, user_named
from tests.test_client_examples import example


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    async with serving(backend, tmp_path_factory.mktemp("hook-examples"), FAST | HOOK_ENV) as srv:
        yield srv


async def running(
    server: Server, bot: str, check: Callable[[AsyncClient, Any], Awaitable[None]]
) -> None:
    main = example(bot).main
    name = f"{bot[:10]}_{secrets.token_hex(3)}"
    task = asyncio.get_running_loop().create_task(
        main(server.base, name, "a long password", str(free_port()))
    )
    person = await signed_up(server.base)
    try:
        await check(person, await user_named(person, name, bot))
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await person.close()


async def test_the_echo_webhook_bot_answers_mentions_and_direct_messages(server: Server) -> None:
    async def check(person: AsyncClient, bot_id: Any) -> None:
        stream = person.events()
        await person.connect()
        group = await person.create_group("with a hook bot", [bot_id])
        await person.send(group.id, "nobody called")
        # The bot subscribes as it starts: messages before that are not its events.
        # Mention it until it answers (it answers each mention it gets, once).
        answer = None
        for attempt in range(20):
            said = f"are you there? ({attempt})"
            await person.send(group.id, said, mentions=[bot_id])
            with contextlib.suppress(TimeoutError):
                answer = await stream.next(
                    NewMessage, lambda e: e.message.sender_id == bot_id, within=2
                )
                break
        assert answer is not None, "the echo bot never answered"
        assert answer.message.content.startswith("echo: are you there? (")
        assert answer.conversation_id == group.id
        direct = await person.create_private(bot_id)
        await person.send(direct.id, "just us")
        answer = await stream.next(
            NewMessage, lambda e: e.message.sender_id == bot_id and e.conversation_id == direct.id
        )
        assert answer.message.content == "echo: just us"

    await running(server, "echo_webhook_bot", check)


async def test_the_weather_bot_answers_its_slash_command(server: Server) -> None:
    async def check(person: AsyncClient, bot_id: Any) -> None:
        stream = person.events()
        await person.connect()
        group = await person.create_group("weather watchers", [bot_id])
        for _ in range(200):  # registered once the bot hears it was added
            if [c.name for c in await person.commands(group.id)] == ["weather"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the weather bot never registered /weather")
        accepted = await person.run_command(group.id, "/weather Oslo")
        assert (accepted.name, accepted.args) == ("weather", "Oslo")
        answer = await stream.next(NewMessage, lambda e: e.message.sender_id == bot_id)
        assert answer.message.content == example("weather_command_bot").forecast("Oslo")
        assert answer.message.content.startswith("Weather for Oslo: ")
        shown = await person.messages(group.id)
        assert [m.content for m in shown.messages] == [answer.message.content]
        # `send` (over the socket) and `post_message` (over HTTP) say the text was a
        # command, and the command went all the same.
        for how, city in ((person.send, "Rome"), (person.post_message, "Lima")):
            with pytest.raises(CommandSent) as sent:
                await how(group.id, f"/weather {city}")
            assert sent.value.command["args"] == city
            answer = await stream.next(NewMessage, lambda e: e.message.sender_id == bot_id)
            assert answer.message.content.startswith(f"Weather for {city}: ")

    await running(server, "weather_command_bot", check)

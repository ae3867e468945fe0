"""The bots of examples/ run against a real server, signed in with a bot's API token or
as a plain account: the echo bot echoes, the mention bot answers a mention in its
thread."""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
from pathlib import Path
from types import ModuleType

import pytest

from hubbub.client import NewMessage
from tests.gw import Server
from tests.sdk import signed_up, user_named

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("signed_in", ["with a bot token", "with a password"])
@pytest.mark.parametrize("bot", ["echo_bot", "mention_bot"])
async def test_the_example_bot_answers(sdk_server: Server, bot: str, signed_in: str) -> None:
    main = example(bot).main
    name = f"{bot}_{secrets.token_hex(3)}"
    person = await signed_up(sdk_server.base)
    loop = asyncio.get_running_loop()
    if signed_in == "with a bot token":
        made = await person.create_bot(name)
        token = await person.create_token("example", ["read", "send"], bot_id=made.user.id)
        task = loop.create_task(main(sdk_server.base, token.secret))
    else:
        task = loop.create_task(main(sdk_server.base, name, "a long password"))
    try:
        bot_id = await user_named(person, name, bot)
        group = await person.create_group("with a bot", [bot_id])
        stream = person.events()
        await person.connect()
        if bot == "echo_bot":
            said = await person.send(group.id, "hello, bot")
            answer = await stream.next(NewMessage, lambda e: e.message.sender_id == bot_id)
            assert answer.message.content == "hello, bot"
        else:
            await person.send(group.id, "nobody called")
            said = await person.send(group.id, "are you there?", mentions=[bot_id])
            answer = await stream.next(NewMessage, lambda e: e.message.sender_id == bot_id)
            assert answer.message.thread_id == said.id
            assert "are you there?" in answer.message.content
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await person.close()

"""How deeply a client's JSON may nest (hubbub.wire.json_depth): the check itself, and a
message over HTTP whose metadata nests to the limit and one level past it. The socket's
side is in tests/test_socket_guard.py; every JSON body's is in tests/test_bad_input.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hubbub.wire.json_depth import MAX_JSON_DEPTH, nested_too_deep
from tests.conftest import Backend, assert_error
from tests.world import World, open_world, snapshot


def nest(depth: int, inside: str = "") -> str:
    """`depth` arrays inside one another, with `inside` in the innermost."""
    return "[" * depth + inside + "]" * depth


@pytest.mark.parametrize(
    ("document", "too_deep"),
    [
        (nest(MAX_JSON_DEPTH), False),
        (nest(MAX_JSON_DEPTH + 1), True),
        (nest(100_000), True),
        ("{" + '"a":{' * (MAX_JSON_DEPTH - 1) + "}" * MAX_JSON_DEPTH, False),
        ("{" + '"a":{' * MAX_JSON_DEPTH + "}" * (MAX_JSON_DEPTH + 1), True),
        ('{"a":[' * (MAX_JSON_DEPTH // 2 + 1) + "]}" * (MAX_JSON_DEPTH // 2 + 1), True),
        # Many openers side by side: wide, not deep.
        ("[" + ",".join([nest(3)] * 1000) + "]", False),
        # Brackets inside strings do not nest, escaped quotes included.
        (json.dumps(["[" * 1000]), False),
        (json.dumps(['a "quoted" \\ [' + "{" * 1000]), False),
        (json.dumps({"k": "[" * 1000, "v": json.loads(nest(MAX_JSON_DEPTH - 1))}), False),
        (json.dumps({"k": "[" * 1000, "v": json.loads(nest(MAX_JSON_DEPTH))}), True),
        # Not JSON, but deep: refused before the parser could recurse into it.
        ('{"a": "unterminated ' + "[" * 1000, True),
        ("[" * 1000, True),
        ("", False),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else str(value),
)
def test_the_depth_is_the_deepest_run_of_open_brackets(document: str, too_deep: bool) -> None:
    assert nested_too_deep(document) is too_deep
    assert nested_too_deep(document.encode()) is too_deep


def test_a_lower_limit_is_followed() -> None:
    assert nested_too_deep(nest(3), limit=2) is True
    assert nested_too_deep(nest(2), limit=2) is False
    assert nested_too_deep("\ud800" + nest(3), limit=2) is True  # a lone surrogate: no error


@pytest.fixture(scope="module")
async def world(backend: Backend) -> AsyncIterator[World]:
    async with open_world(backend, ("author", "reader")) as opened:
        yield opened


async def test_metadata_nests_to_the_limit_and_no_further(world: World) -> None:
    author, reader = world.users["author"], world.users["reader"]
    body = await world.ok(
        author,
        "POST",
        "/conversations",
        {"type": "GROUP", "name": "deep", "participantIds": [str(reader.id)]},
        201,
    )
    conversation = body["conversation"]["id"]
    # The body's object and the metadata's are two levels.
    deepest: Any = json.loads(nest(MAX_JSON_DEPTH - 2, "1"))
    sent = await world.send(author, conversation, "as deep as allowed", metadata={"k": deepest})
    page = await world.ok(reader, "GET", f"/conversations/{conversation}/messages")
    (stored,) = [m for m in page["messages"] if m["id"] == sent]
    assert stored["metadata"] == {"k": deepest}

    before = await snapshot(world.node)
    too_deep = json.loads(nest(MAX_JSON_DEPTH - 1, "1"))
    response = await world.call(
        author,
        "POST",
        f"/conversations/{conversation}/messages",
        {"content": "one level deeper", "metadata": {"k": too_deep}},
    )
    assert_error(response, 400, "invalid_json")
    assert f"deeper than {MAX_JSON_DEPTH}" in response.json()["message"]
    assert await snapshot(world.node) == before

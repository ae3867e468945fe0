"""Names people read are one clean line; an avatar is an avatar upload (docs/http-api.md, 422).

Display names, conversation and space names refuse control, format and invisible
characters (bidi overrides, zero-width characters, newlines, ESC) and are normalised to
NFC and trimmed; bios and descriptions may have lines but no other control character
and no bidi override; an avatar is only an image the user uploaded with type=avatar.
Each refusal is a 422 naming the field, and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.chat import create_group
from tests.conftest import Account, RegisterFn, assert_error
from tests.test_files import image_bytes, upload_ok

# Each class of character a name must not hold, one of each.
NOT_IN_NAMES = {
    "newline": "\n",
    "escape": "\x1b",
    "tab": "\t",
    "bidi override": "\u202e",
    "bidi isolate": "\u2066",
    "left-to-right mark": "\u200e",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "delete": "\x7f",
}
NOT_IN_TEXTS = {
    k: v
    for k, v in NOT_IN_NAMES.items()
    if k in ("escape", "bidi override", "bidi isolate", "line separator", "delete")
}


def spoof(ch: str) -> str:
    return f"admin{ch}evil"


def refused(response: httpx.Response, field: str) -> None:
    body = assert_error(response, 422)
    assert field in body["message"], body


async def me(client: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    user: dict[str, Any] = (await client.get("/users/me", headers=who.headers)).json()["user"]
    return user


@pytest.mark.parametrize("ch", NOT_IN_NAMES.values(), ids=NOT_IN_NAMES.keys())
async def test_display_names_refuse_invisible_and_control_characters(
    client: httpx.AsyncClient, register: RegisterFn, ch: str
) -> None:
    who = await register()
    before = await me(client, who)
    put = await client.put("/users/me", headers=who.headers, json={"displayName": spoof(ch)})
    refused(put, "displayName")
    assert await me(client, who) == before
    reg = await client.post(
        "/auth/register",
        json={
            "username": "u" + uuid.uuid4().hex[:8],
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": "correct horse battery",
            "displayName": spoof(ch),
        },
    )
    refused(reg, "displayName")


async def test_names_are_normalised_and_trimmed(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    who = await register()
    decomposed = "  Cafe\u0301 \u05e9\u05dc\u05d5\u05dd  "  # e + combining acute, Hebrew
    put = await client.put("/users/me", headers=who.headers, json={"displayName": decomposed})
    assert put.status_code == 200, put.text
    assert put.json()["user"]["displayName"] == "Caf\u00e9 \u05e9\u05dc\u05d5\u05dd"
    other = await register()
    cid = await create_group(client, who, other, name=" A\u030angstro\u0308m ")
    got = await client.get(f"/conversations/{cid}", headers=who.headers)
    assert got.json()["conversation"]["name"] == "\u00c5ngstr\u00f6m"


@pytest.mark.parametrize("ch", NOT_IN_NAMES.values(), ids=NOT_IN_NAMES.keys())
async def test_conversation_and_space_names_refuse_them(
    client: httpx.AsyncClient, register: RegisterFn, ch: str
) -> None:
    owner, member = await register(), await register()
    made = await client.post(
        "/conversations",
        headers=owner.headers,
        json={"type": "GROUP", "name": spoof(ch), "participantIds": [str(member.id)]},
    )
    refused(made, "name")
    cid = await create_group(client, owner, member, name="plain")
    before = (await client.get(f"/conversations/{cid}/messages", headers=owner.headers)).json()
    renamed = await client.patch(
        f"/conversations/{cid}", headers=owner.headers, json={"name": spoof(ch)}
    )
    refused(renamed, "name")
    after = (await client.get(f"/conversations/{cid}/messages", headers=owner.headers)).json()
    assert after == before  # no SYSTEM "renamed" line
    conversation = (await client.get(f"/conversations/{cid}", headers=owner.headers)).json()
    assert conversation["conversation"]["name"] == "plain"
    refused(await client.post("/spaces", headers=owner.headers, json={"name": spoof(ch)}), "name")
    assert (await client.get("/spaces", headers=owner.headers)).json()["spaces"] == []


@pytest.mark.parametrize("ch", NOT_IN_TEXTS.values(), ids=NOT_IN_TEXTS.keys())
async def test_bios_and_descriptions_keep_lines_but_refuse_controls_and_overrides(
    client: httpx.AsyncClient, register: RegisterFn, ch: str
) -> None:
    owner, member = await register(), await register()
    fine = await client.put(
        "/users/me", headers=owner.headers, json={"bio": "line one\nline two\r\n\tend"}
    )
    assert fine.status_code == 200, fine.text
    assert fine.json()["user"]["bio"] == "line one\nline two\n\tend"
    refused(await client.put("/users/me", headers=owner.headers, json={"bio": spoof(ch)}), "bio")
    assert (await me(client, owner))["bio"] == "line one\nline two\n\tend"
    cid = await create_group(client, owner, member)
    bad = await client.patch(
        f"/conversations/{cid}", headers=owner.headers, json={"description": spoof(ch)}
    )
    refused(bad, "description")
    space = await client.post(
        "/spaces", headers=owner.headers, json={"name": "s", "description": spoof(ch)}
    )
    refused(space, "description")


async def test_message_content_is_kept_as_written(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    """A message is shown under its sender: its text, right-to-left marks and all, stays."""
    owner, member = await register(), await register()
    cid = await create_group(client, owner, member)
    text = "\u05e9\u05dc\u05d5\u05dd\u200f (\u202eabc\u202c)\nnext line"
    sent = await client.post(
        f"/conversations/{cid}/messages", headers=owner.headers, json={"content": text}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["content"] == text


async def test_an_avatar_is_only_an_avatar_upload_of_ones_own(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    who, other = await register(), await register()
    mine = await upload_ok(client, who, image_bytes("PNG"), kind="avatar")
    attachment = await upload_ok(client, who, image_bytes("PNG"))
    theirs = await upload_ok(client, other, image_bytes("PNG"), kind="avatar")
    ok = await client.put("/users/me", headers=who.headers, json={"avatar": mine["url"]})
    assert ok.status_code == 200, ok.text
    before = await me(client, who)
    cid = await create_group(client, who, other)
    for value in [
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "http://169.254.169.254/latest/meta-data/",
        "https://img.example/i.png",
        f"https://evil.example/files/{mine['id']}/x.png",
        "a" * 501,
        str(uuid.uuid4()),  # no such file
        attachment["id"],  # not uploaded as an avatar
        theirs["url"],  # someone else's
    ]:
        refused(
            await client.put("/users/me", headers=who.headers, json={"avatar": value}), "avatar"
        )
        patched = await client.patch(
            f"/conversations/{cid}", headers=who.headers, json={"avatar": value}
        )
        refused(patched, "avatar")
    assert await me(client, who) == before
    conversation = (await client.get(f"/conversations/{cid}", headers=who.headers)).json()
    assert conversation["conversation"]["avatar"] is None
    set_ = await client.patch(
        f"/conversations/{cid}", headers=who.headers, json={"avatar": mine["id"]}
    )
    assert set_.json()["conversation"]["avatar"].startswith(f"/files/{mine['id']}/")

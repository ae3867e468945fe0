"""Signed file URLs are short-lived, made on every read, and refused once the file is
not in use; avatars are kept by file id and signed on every read (docs/http-api.md, Files)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from hubbub.app import Node
from hubbub.store.models import User
from tests.chat import create_group, send
from tests.conftest import Account, RegisterFn, assert_error
from tests.test_files import image_bytes, upload_ok

DEFAULT_TTL_S = 600


def expiry(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["exp"][0])


async def until_expired(url: str) -> None:
    """Wait (a few seconds at most, with the short TTL these tests set) for `url`'s exp."""
    await asyncio.sleep(max(0.0, expiry(url) + 0.1 - time.time()))


async def history(client: httpx.AsyncClient, who: Any, cid: str) -> list[dict[str, Any]]:
    r = await client.get(f"/conversations/{cid}/messages", headers=who.headers)
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


async def shared(
    client: httpx.AsyncClient, register: RegisterFn, data: bytes, filename: str
) -> tuple[Account, Account, str, dict[str, Any], dict[str, Any]]:
    """An owner and a member in a group; the owner's upload sent there in a message."""
    owner, member = await register(), await register()
    cid = await create_group(client, owner, member)
    up = await upload_ok(client, owner, data, filename=filename)
    message = await send(client, owner, cid, filename, attachments=[up["id"]])
    return owner, member, cid, up, message


async def test_signed_urls_live_minutes_not_days(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    _, member, cid, up, _ = await shared(client, register, image_bytes("PNG"), "p.png")
    (seen,) = [m for m in await history(client, member, cid) if m["attachments"]]
    now = time.time()
    for url in (up["url"], up["thumbnailUrl"], *seen["attachments"][0].values()):
        if isinstance(url, str) and url.startswith("/files/"):
            assert DEFAULT_TTL_S - 5 <= expiry(url) - now <= DEFAULT_TTL_S * 1.2 + 1, url


async def test_a_deleted_messages_file_is_not_served_by_its_signed_url(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    owner, member, cid, up, message = await shared(client, register, b"the plan", "plan.txt")
    url = message["attachments"][0]["url"]
    assert (await client.get(url)).status_code == 200
    deleted = await client.delete(
        f"/conversations/{cid}/messages/{message['id']}", headers=owner.headers
    )
    assert deleted.status_code == 200, deleted.text
    assert_error(await client.get(url), 404, "file_not_found")
    assert_error(await client.get(up["url"]), 404, "file_not_found")  # the upload's own URL
    path = url.split("?")[0]
    assert_error(await client.get(path, headers=member.headers), 404, "file_not_found")
    assert (await client.get(path, headers=owner.headers)).status_code == 200  # the uploader's


@pytest.mark.parametrize("settings_overrides", [{"file_url_ttl_s": 3}])
async def test_a_removed_members_signed_url_stops_within_the_ttl(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    owner, member, cid, _, _ = await shared(client, register, b"minutes", "minutes.txt")
    (seen,) = [m for m in await history(client, member, cid) if m["attachments"]]
    url = seen["attachments"][0]["url"]
    assert expiry(url) - time.time() <= 3 * 1.2 + 1
    assert (await client.get(url)).status_code == 200
    removed = await client.delete(
        f"/conversations/{cid}/participants/{member.id}", headers=owner.headers
    )
    assert removed.status_code == 200, removed.text
    # Token downloads check access at once; the URL the member held dies with its exp.
    path = url.split("?")[0]
    assert_error(await client.get(path, headers=member.headers), 404, "file_not_found")
    await until_expired(url)
    assert_error(await client.get(url), 404, "file_not_found")
    # The file itself is still served to whoever is in the conversation, freshly signed.
    (again,) = [m for m in await history(client, owner, cid) if m["attachments"]]
    assert (await client.get(again["attachments"][0]["url"])).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"file_url_ttl_s": 2}])
async def test_an_avatar_is_kept_by_file_id_and_signed_on_every_read(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me, other = await register(), await register()
    up = await upload_ok(client, me, image_bytes("PNG"), filename="me.png", kind="avatar")
    changed = await client.put("/users/me", headers=me.headers, json={"avatar": up["url"]})
    assert changed.status_code == 200, changed.text
    async with node.services.db.read() as session:
        kept = await session.scalar(select(User.avatar_file_id).where(User.id == me.id))
    assert str(kept) == up["id"]

    first = (await client.get(f"/users/{me.id}", headers=other.headers)).json()["user"]["avatar"]
    assert re.fullmatch(rf"/files/{up['id']}/[^?]+\?exp=\d+&sig=[0-9a-f]+", first)
    assert (await client.get(first)).status_code == 200
    await until_expired(first)
    assert_error(await client.get(first), 404)
    second = (await client.get(f"/users/{me.id}", headers=other.headers)).json()["user"]["avatar"]
    assert expiry(second) > expiry(first)
    downloaded = await client.get(second)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "image/png"
    # The same avatar by its id alone, and cleared with null.
    by_id = await client.put("/users/me", headers=me.headers, json={"avatar": up["id"]})
    assert by_id.json()["user"]["avatar"].startswith(f"/files/{up['id']}/")
    cleared = await client.put("/users/me", headers=me.headers, json={"avatar": None})
    assert cleared.json()["user"]["avatar"] is None

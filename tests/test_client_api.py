"""Every HTTP method of `hubbub.client.AsyncClient`, against a real `hubbub serve`."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

import pytest
from PIL import Image

from hubbub.client import AsyncClient, HubbubError, NotLoggedIn
from tests.gw import Server
from tests.sdk import PASSWORD, signed_up


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = png()


async def test_session_account_users_and_spaces(sdk_server: Server, tmp_path: Path) -> None:
    a, b = await signed_up(sdk_server.base), await signed_up(sdk_server.base)
    try:
        me = await a.me()
        assert me.id == a.user.id
        assert me.username.startswith("sdk_")

        # A second session of a, by login; then a refresh gives a new pair that works.
        again = AsyncClient(sdk_server.base)
        assert (await again.login(me.username, PASSWORD)).id == me.id
        old = await again.refresh()
        assert (await again.refresh()).token != old.token
        assert (await again.me()).id == me.id
        sessions = await a.sessions()
        assert len(sessions) == 2
        assert sum(s.current for s in sessions) == 1
        other = next(s for s in sessions if not s.current)
        assert (await a.end_session(other.id)).success is True
        with pytest.raises(HubbubError) as refused:
            await again.me()  # its session ended: the refresh is refused too
        assert refused.value.status == 401
        await again.close()

        # The profile, with an avatar uploaded (with progress) and read back.
        seen: list[tuple[int, int | None]] = []
        avatar = await a.upload(PNG, filename="me.png", kind="avatar", progress=_note(seen))
        assert avatar.mime_type == "image/png"
        assert seen[-1] == (len(PNG), len(PNG))
        changed = await a.update_me(display_name="Ada", bio="hello", avatar=str(avatar.id))
        assert (changed.display_name, changed.bio) == ("Ada", "hello")
        assert changed.avatar is not None
        assert (await a.download(changed.avatar)).startswith(b"\x89PNG")
        assert (await b.get_user(me.id)).display_name == "Ada"
        found = await b.search_users(me.username)
        assert [u.id for u in found.users] == [me.id]

        # Spaces.
        space = await a.create_space("Guild", description="a space")
        assert space.name == "Guild"
        assert [s.id for s in await a.spaces()] == [space.id]
        assert (await a.space(space.id)).member_count == 1
        assert (await a.add_space_members(space.id, [b.user.id])).member_count == 2
        channel = await a.create_channel(space.id, "general")
        assert channel.type.value == "SPACE"
        assert [c.id for c in await b.space_conversations(space.id)] == [channel.id]
        assert (await a.remove_space_member(space.id, b.user.id)).success is True
        assert (await a.space(space.id)).member_count == 1

        # The own account: email, password, export, reset, deletion, logout.
        assert (await a.change_email(PASSWORD, f"{me.username}@example.org")).email.endswith(".org")
        assert (await a.change_password(PASSWORD, PASSWORD + "!")).ended == 0
        assert (await a.logout_others()).ended == 0
        assert (await a.start_export()).status in ("running", "ready")
        export = await _ready(a)
        assert export.id is not None
        document = await a.download_export(export.id)
        assert me.username in str(document)
        accepted = await a.request_password_reset(f"{me.username}@example.org")
        assert accepted.accepted is True
        with pytest.raises(HubbubError) as bad:
            await a.confirm_password_reset("not-a-token", "a new password")
        assert (bad.value.status, bad.value.code) == (400, "invalid_reset_token")
        assert (await b.delete_account(PASSWORD)).success is True
        with pytest.raises(NotLoggedIn):
            await b.me()
        await a.logout()
        with pytest.raises(NotLoggedIn):
            await a.me()
    finally:
        await a.close()
        await b.close()


async def _ready(client: AsyncClient):  # type: ignore[no-untyped-def]
    for _ in range(100):
        state = await client.export_state()
        if state.status == "ready":
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"the export is still {state.status}")


def _note(seen: list[tuple[int, int | None]]):  # type: ignore[no-untyped-def]
    def progress(done: int, total: int | None) -> None:
        seen.append((done, total))

    return progress


async def test_conversations_messages_threads_reactions_files(
    sdk_server: Server, tmp_path: Path
) -> None:
    a, b, c = [await signed_up(sdk_server.base) for _ in range(3)]
    try:
        group = await a.create_group("team", [b.user.id], description="the team")
        assert (group.name, group.participant_count) == ("team", 2)
        private = await a.create_private(b.user.id)
        assert private.type.value == "PRIVATE"
        assert (await b.create_private(a.user.id)).id == private.id  # one per pair
        assert {x.id for x in await b.all_conversations()} == {group.id, private.id}
        first = await b.conversations(limit=1)
        assert (len(first.conversations), first.total) == (1, 2)
        assert first.next_cursor is not None
        rest = await b.conversations(limit=1, cursor=first.next_cursor)
        assert {first.conversations[0].id, rest.conversations[0].id} == {group.id, private.id}
        assert (await b.conversation(group.id)).description == "the team"
        renamed = await a.update_conversation(group.id, name="crew", description="d")
        assert renamed.name == "crew"
        archived = await b.conversation_settings(group.id, is_archived=True)
        assert archived.is_archived is True
        assert [x.id for x in await b.all_conversations(archived=True)] == [group.id]
        await b.conversation_settings(group.id, is_archived=False, notifications_enabled=False)
        added = await a.add_participants(group.id, [c.user.id])
        assert added.participant_count == 3
        made = await a.update_participant(group.id, c.user.id, role="MODERATOR")
        assert made.role.value == "MODERATOR"

        # Messages: sent over HTTP (no live connection here), paged, read, edited.
        sent = [await a.send(group.id, f"m{n}") for n in range(5)]
        assert [m.content for m in sent] == [f"m{n}" for n in range(5)]
        again = await a.post_message(group.id, "m4", optimistic_id=sent[4].optimistic_id)
        assert again.id == sent[4].id  # the same optimisticId stores nothing new
        page = await b.messages(group.id, limit=2)
        assert [m.content for m in page.messages] == ["m3", "m4"]
        assert page.has_more is True
        older = await b.messages(group.id, limit=2, before=page.messages[0].id)
        assert [m.content for m in older.messages] == ["m1", "m2"]
        newer = await b.messages(group.id, limit=2, after=sent[0].id)
        assert [m.content for m in newer.messages] == ["m1", "m2"]
        around = await b.messages(group.id, limit=3, around=sent[2].id)
        assert "m2" in [m.content for m in around.messages]
        texts = [m.content async for m in b.history(group.id, page_size=2)]
        assert texts[:5] == ["m4", "m3", "m2", "m1", "m0"]
        assert (await b.message(group.id, sent[1].id)).content == "m1"
        assert (await a.edit_message(group.id, sent[1].id, "m1!")).edited_at is not None
        read = await b.mark_read(group.id, sent[4].id)
        assert read.unread_count == 0
        assert (await a.delete_message(group.id, sent[0].id)).status.value == "DELETED"

        # A thread, reactions, the changes since a number, mentions and search.
        reply = await b.send(group.id, "a reply", reply_to=sent[2].id)
        assert reply.thread_id == sent[2].id
        thread = await a.thread(group.id, sent[2].id)
        assert [m.id for m in thread.messages] == [reply.id]
        reactions = await b.react(group.id, sent[3].id, "👍")
        assert [(r.emoji, r.count) for r in reactions] == [("👍", 1)]
        assert await b.unreact(group.id, sent[3].id, "👍") == []
        changes = await b.changes(group.id, sent[4].seq)
        assert reply.id in [m.id for m in changes.changes]
        assert changes.last_seq > sent[4].seq
        assert changes.has_more is False
        await a.send(group.id, "ping @b", mentions=[b.user.id])
        mentions = await b.mentions()
        assert [m.message.content for m in mentions.mentions] == ["ping @b"]
        found = await b.search_messages("reply", conversation_id=group.id)
        assert [m.id for m in found.messages] == [reply.id]

        # A file with upload and download progress, attached to a message.
        data = bytes(range(256)) * 2000
        up: list[tuple[int, int | None]] = []
        attachment = await a.upload(_written(tmp_path / "notes.bin", data), progress=_note(up))
        assert (attachment.filename, attachment.size) == ("notes.bin", len(data))
        assert up[-1] == (len(data), len(data))
        carrying = await a.send(group.id, "the notes", attachments=[attachment.id])
        down: list[tuple[int, int | None]] = []
        target = tmp_path / "copy.bin"
        got = await b.download(carrying.attachments[0].url, progress=_note(down), to=target)
        assert got == data
        assert target.read_bytes() == data
        assert down[-1] == (len(data), len(data))

        # Leaving, and removing someone.
        assert (await a.remove_participant(group.id, c.user.id)).success is True
        assert (await b.remove_participant(group.id, b.user.id)).success is True
        with pytest.raises(HubbubError) as gone:
            await b.conversation(group.id)
        assert (gone.value.status, gone.value.code) == (404, "conversation_not_found")
    finally:
        for client in (a, b, c):
            await client.close()


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_bad_input_is_refused_before_anything_is_sent(sdk_server: Server) -> None:
    a = await signed_up(sdk_server.base)
    try:
        with pytest.raises(ValueError, match="name"):
            await a.create_group("x" * 200, [])
        assert await a.all_conversations() == []
        unknown = uuid.uuid4()
        with pytest.raises(HubbubError) as missing:
            await a.send(unknown, "hello")
        assert missing.value.code == "conversation_not_found"
    finally:
        await a.close()

"""`hubbub chat` driven through Textual's pilot against a real `hubbub serve`: log in,
the conversation list with its unread count, open a conversation, send (the other user
receives it through the SDK), receive live, and a cut connection: the screen says it is
reconnecting, then shows what was missed, once and in order. Then the rest, by its keys:
older history, typing, presence, a reply in a thread, a reaction, an edit, a deletion,
search, and an upload by path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Label, ListView, Static

from hubbub.client import MessageDeleted, MessageUpdated, NewMessage, Typing
from hubbub.tui.app import ChatApp
from hubbub.tui.room_screen import RoomScreen
from hubbub.tui.screens import LoginScreen
from hubbub.tui.state import Room
from hubbub.wire.models import ConversationPublic
from tests.gw import Server
from tests.sdk import PASSWORD, Relay, signed_up
from tests.test_client_ordering import message


def lines(app: App[int], selector: str) -> list[str]:
    """The text of each row of a list on screen, as drawn."""
    return [plain(label) for label in app.screen.query_one(selector, ListView).query(Label)]


def last(app: App[int]) -> str:
    """The last message on screen ("" between clearing the list and drawing it again)."""
    shown = lines(app, "#log")
    return shown[-1] if shown else ""


def plain(widget: Static) -> str:
    # `content` since Textual 2; `renderable` before.
    content = widget.content if hasattr(widget, "content") else widget.renderable
    return content.plain if isinstance(content, Text) else str(content)


async def until(pilot: Pilot[int], done: Callable[[], bool], within: float = 10.0) -> None:
    try:
        async with asyncio.timeout(within):
            while not done():
                await pilot.pause(0.05)
    except TimeoutError:
        on_screen = [plain(label) for label in pilot.app.screen.query(Static)]
        raise AssertionError(f"not seen in {within} s; on screen: {on_screen}") from None


async def write(pilot: Pilot[int], text: str) -> None:
    await pilot.press(*("space" if c == " " else c for c in text))


async def test_log_in_read_send_receive_and_come_back_after_a_cut(sdk_server: Server) -> None:
    me, other = await signed_up(sdk_server.base), await signed_up(sdk_server.base)
    relay = Relay(sdk_server)
    await relay.start()
    app = ChatApp(relay.base, username=me.user.username, max_backoff_s=0.3)
    try:
        room = await other.create_group("tui room", [me.user.id])
        for text in ("first", "second"):
            await other.send(room.id, text)  # over HTTP: unread for the terminal's user
        heard = other.events()
        await other.connect()
        async with asyncio.timeout(60), app.run_test(size=(120, 30)) as pilot:
            # Log in: the username is given, the password typed on the login screen; a
            # wrong one is refused there, and one tries again.
            await write(pilot, "not the password")
            await pilot.press("enter")
            error = app.screen.query_one("#login-error", Static)
            await until(pilot, lambda: plain(error) not in ("", "logging in…"))
            assert isinstance(app.screen, LoginScreen)
            app.screen.query_one("#login-password", Input).value = ""
            await write(pilot, PASSWORD)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, RoomScreen))
            await until(pilot, lambda: "tui room (2)" in " ".join(lines(app, "#rooms")))

            # Open it: its history, and the unread count goes.
            await pilot.press("enter")
            await until(pilot, lambda: len(lines(app, "#log")) >= 2)
            shown = lines(app, "#log")
            assert [t.split(": ", 1)[1] for t in shown[-2:]] == ["first", "second"]
            await until(pilot, lambda: "(2)" not in " ".join(lines(app, "#rooms")))

            # Send: the other user receives it live.
            await write(pilot, "hello from the terminal")
            await pilot.press("enter")
            got = await heard.next(NewMessage, lambda e: e.message.sender_id == me.user.id)
            assert got.message.content == "hello from the terminal"
            await until(pilot, lambda: last(app).endswith("hello from the terminal"))

            # Receive one live.
            await other.send(room.id, "live one")
            await until(pilot, lambda: last(app).endswith("live one"))

            # The connection is cut and stays down while two messages are sent.
            relay.refusing = True
            assert relay.cut() > 0
            status = app.screen.query_one("#status", Static)
            await until(pilot, lambda: "reconnecting" in plain(status))
            for text in ("missed one", "missed two"):
                await other.send(room.id, text)
            relay.refusing = False
            await until(pilot, lambda: last(app).endswith("missed two"))
            await until(pilot, lambda: "reconnecting" not in plain(status))
            texts = [t.split(": ", 1)[1] for t in lines(app, "#log")]
            assert texts == [
                "first", "second", "hello from the terminal", "live one", "missed one",
                "missed two",
            ]  # fmt: skip

            # Removed from the conversation: it leaves the list and the screen.
            await other.remove_participant(room.id, me.user.id)
            await until(pilot, lambda: lines(app, "#rooms") == [] and lines(app, "#log") == [])
    finally:
        await relay.stop()
        for client in (me, other):
            await client.close()


async def test_page_reply_react_edit_delete_type_search_and_upload(
    sdk_server: Server, tmp_path: Path
) -> None:
    me, other = await signed_up(sdk_server.base), await signed_up(sdk_server.base)
    # The password from the environment's way in (HUBBUB_CHAT_PASSWORD): no login typed.
    app = ChatApp(sdk_server.base, username=me.user.username, password=PASSWORD)
    try:
        room = await other.create_group("busy room", [me.user.id])
        for n in range(52):  # more than a page of 50
            await other.send(room.id, "the zebra crossing" if n == 7 else f"m{n:02}")
        heard = other.events()
        await other.connect()
        async with asyncio.timeout(60), app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RoomScreen))
            screen = app.screen
            assert isinstance(screen, RoomScreen)
            await pilot.press("enter")
            await until(pilot, lambda: len(lines(app, "#log")) == 50)
            # Presence: the other user is online, in the conversation's header.
            header = screen.query_one("#header", Static)
            await until(pilot, lambda: f"online: {other.user.username}" in plain(header))

            # Older history: PageUp at the top of the messages.
            log = screen.query_one("#log", ListView)
            log.focus()
            log.index = 0
            await pilot.pause()
            await pilot.press("pageup")
            await until(pilot, lambda: len(lines(app, "#log")) == 52)
            assert lines(app, "#log")[0].endswith(": m00")

            # Typing, both ways.
            await other.typing(room.id)
            status = screen.query_one("#status", Static)
            await until(pilot, lambda: f"{other.user.username} is typing" in plain(status))

            # A reply in the thread of the last message.
            newest = screen.state.rooms[room.id].messages[-1]
            log.focus()
            log.index = len(log) - 1
            await pilot.press("r")
            await write(pilot, "a reply")
            assert (await heard.next(Typing)).user_id == me.user.id
            await pilot.press("enter")
            reply = await heard.next(NewMessage, lambda e: e.message.sender_id == me.user.id)
            assert reply.message.parent_message_id == newest.id
            assert reply.message.content == "a reply"
            await until(pilot, lambda: "↳ re: m51 |" in last(app))

            # React to it, edit it, delete it.
            log.focus()
            log.index = len(log) - 1
            await pilot.press("plus")
            await pilot.press("enter")  # the emoji offered: 👍
            reacted = await heard.next(MessageUpdated, lambda e: e.message.id == reply.message.id)
            assert [r.emoji for r in reacted.message.reactions] == ["👍"]
            await until(pilot, lambda: "👍 1" in last(app))
            log.focus()
            await pilot.press("e", "end")
            await write(pilot, " fixed")
            await pilot.press("enter")
            edited = await heard.next(MessageUpdated, lambda e: e.message.edited_at is not None)
            assert edited.message.content == "a reply fixed"
            await until(pilot, lambda: last(app).endswith("(edited)  👍 1"))
            log.focus()
            await pilot.press("d")
            await heard.next(MessageDeleted, lambda e: e.message.id == reply.message.id)
            await until(pilot, lambda: last(app).endswith("(deleted)"))

            # Search, and open the conversation of what was found.
            await pilot.press("ctrl+s")
            await write(pilot, "zebra")
            await pilot.press("enter")
            await until(pilot, lambda: any("zebra" in t for t in lines(app, "#search-results")))
            await pilot.pause()  # the results take the focus
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen)

            # Upload a file by its path.
            upload = tmp_path / "notes.txt"
            upload.write_text("some notes")
            compose = screen.query_one("#compose", Input)
            compose.focus()
            await write(pilot, "/upload ")
            compose.insert_text_at_cursor(str(upload))  # pasted: a long path typed is slow
            await pilot.press("enter")
            sent = await heard.next(NewMessage, lambda e: bool(e.message.attachments))
            assert [a.filename for a in sent.message.attachments] == ["notes.txt"]
            await until(pilot, lambda: "[file: notes.txt, 10 bytes]" in last(app))
    finally:
        for client in (me, other):
            await client.close()


def test_history_and_live_messages_are_filed_once_in_seq_order() -> None:
    """A page of history that arrives after live messages (or overlaps them) leaves each
    message once, in `seq` order; a changed message replaces its earlier form."""
    made = [message(n) for n in range(1, 7)]
    room = Room(ConversationPublic.model_construct(), unread=0)
    assert room.place(made[4])  # live ones first
    assert room.place(made[5])
    room.older(made[2:5], has_more=True)  # then a page overlapping them
    room.older(made[0:2], has_more=False)
    edited = made[3].model_copy(update={"content": "m4 edited"})
    assert not room.place(edited)
    assert [m.content for m in room.messages] == ["m1", "m2", "m3", "m4 edited", "m5", "m6"]
    assert not room.has_older

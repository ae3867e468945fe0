"""The conversation screen: the conversation list with unread counts on the left, the
open conversation's messages, who is typing and the connection's state on the right, and
the line to write in. Every key is on the screen's footer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import ClassVar, TypeVar

import httpx
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ListView, Static

from hubbub.client import (
    AsyncClient,
    Connected,
    Disconnected,
    Event,
    EventStream,
    HubbubError,
    MessageDeleted,
    MessagesDelivered,
    MessagesRead,
    MessageUpdated,
    NewMessage,
    StopTyping,
    Typing,
)
from hubbub.tui import view
from hubbub.tui.screens import PromptScreen, SearchScreen
from hubbub.tui.state import ChatState, Room
from hubbub.tui.widgets import MessageItem, MessageLog, RoomItem
from hubbub.wire.models import MessagePublic

T = TypeVar("T")
TYPING_EVERY_S = 3.0
# Events that change nothing in the conversation list.
QUIET_FOR_THE_LIST = (
    Typing | StopTyping | MessageUpdated | MessageDeleted | MessagesRead | MessagesDelivered
)  # how often typing is said again while one goes on writing


class RoomScreen(Screen[None]):
    DEFAULT_CSS = """
    #rooms { width: 34; border-right: solid $accent; }
    #header { height: 1; padding: 0 1; background: $boost; }
    #log { height: 1fr; }
    #status { height: 1; padding: 0 1; }
    #compose { dock: bottom; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "search", "search"),
        Binding("ctrl+o", "upload", "upload"),
        Binding("escape", "cancel", "cancel", show=False),
    ]

    def __init__(self, client: AsyncClient, state: ChatState, stream: EventStream) -> None:
        super().__init__()
        self.client = client
        self.state = state
        self.stream = stream
        self.open: Room | None = None
        self.reply_to: MessagePublic | None = None
        self.editing: MessagePublic | None = None
        self.typed_at = 0.0
        self._drawing = asyncio.Lock()

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ListView(id="rooms")
            with Vertical():
                yield Static(id="header")
                yield MessageLog(id="log")
                yield Static(id="status")
                yield Input(placeholder="write a message; /search, /upload PATH", id="compose")
        yield Footer()

    async def on_mount(self) -> None:
        await self.draw_rooms()
        self.query_one("#header", Static).update(view.header_line(self.state, None))
        self.draw_status()
        self.query_one("#rooms", ListView).focus()
        self.run_worker(self.pump(), name="events")

    async def pump(self) -> None:
        """Every event the SDK hands on, in order (each message once, in `seq` order per
        conversation, across reconnects)."""
        async for event in self.stream:
            if isinstance(event, Connected | Disconnected):
                self.state.connected = isinstance(event, Connected)
            try:
                await self.take(event)
            except NoMatches:
                return  # the screen's parts are gone: the application is closing

    # Drawing ----------------------------------------------------------------------------

    async def draw_rooms(self) -> None:
        rooms = self.query_one("#rooms", ListView)
        chosen = rooms.highlighted_child
        chosen_id = chosen.room_id if isinstance(chosen, RoomItem) else None
        async with self._drawing:
            ordered = self.state.ordered()
            ids = [r.conversation.id for r in ordered]
            shown = list(rooms.query(RoomItem))
            if [item.room_id for item in shown] == ids:
                # The same rooms in the same order (a presence change, a reconnect): each
                # line is written again in place. Clearing the list here would drop an
                # Enter pressed while it is empty, and make the list flicker.
                for item, r in zip(shown, ordered, strict=True):
                    line = view.room_line(self.state, r, is_open=r is self.open)
                    item.query_one(Label).update(line)
                return
            await rooms.clear()
            await rooms.extend(
                RoomItem(r.conversation.id, view.room_line(self.state, r, is_open=r is self.open))
                for r in ordered
            )
            rooms.index = ids.index(chosen_id) if chosen_id in ids else (0 if ids else None)

    async def draw_log(self, *, keep: bool = True) -> None:
        room = self.open
        log = self.query_one("#log", MessageLog)
        chosen = log.highlighted_child
        chosen_id = chosen.message.id if keep and isinstance(chosen, MessageItem) else None
        async with self._drawing:
            await log.clear()
            if room is None:
                return
            await log.extend(
                MessageItem(m, view.message_line(self.state, room, m)) for m in room.messages
            )
            ids = [m.id for m in room.messages]
            if chosen_id in ids:
                log.index = ids.index(chosen_id)
            elif ids:
                log.index = len(ids) - 1
            self.query_one("#header", Static).update(view.header_line(self.state, room))

    def draw_status(self) -> None:
        mode = ""
        if self.editing is not None:
            mode = "editing (Esc to stop)"
        elif self.reply_to is not None:
            mode = f"replying to: {self.reply_to.content[:40]} (Esc to stop)"
        self.query_one("#status", Static).update(view.status_line(self.state, self.open, mode))

    # Events -----------------------------------------------------------------------------

    async def take(self, event: Event) -> None:
        """One event the SDK handed on (in order): into the state, then on screen."""
        changed = self.state.apply(event)
        room = self.open
        if room is not None and room.conversation.id not in self.state.rooms:
            self.open = room = None  # the user left it, or was removed
            await self.draw_log(keep=False)
        if (
            room is not None
            and changed == room.conversation.id
            and isinstance(event, NewMessage | MessageUpdated | MessageDeleted)
        ):
            await self.show(room, event.message)
            if isinstance(event, NewMessage) and event.message.sender_id != self.state.me:
                await self.read(room)
        if not isinstance(event, QUIET_FOR_THE_LIST):
            await self.draw_rooms()
        self.query_one("#header", Static).update(view.header_line(self.state, room))
        self.draw_status()

    async def show(self, room: Room, message: MessagePublic) -> None:
        """One message new or changed in the open conversation: its line drawn again, or
        a line added at the end (the whole list drawn again when it belongs elsewhere)."""
        log = self.query_one("#log", MessageLog)
        async with self._drawing:
            for item in log.query(MessageItem):
                if item.message.id == message.id:
                    item.message = message
                    item.query_one(Label).update(view.message_line(self.state, room, message))
                    return
            if not room.messages or room.messages[-1].id != message.id:
                newest = False
            else:
                newest = True
                following = log.index is None or log.index >= len(log) - 1
                await log.append(MessageItem(message, view.message_line(self.state, room, message)))
                if following:
                    log.index = len(log) - 1
        if not newest:
            await self.draw_log()

    async def attempt(self, call: Awaitable[T]) -> T | None:
        """A call to the server; a refusal or a lost connection is shown, not raised (the
        SDK reconnects by itself, and what was missed comes then)."""
        try:
            return await call
        except HubbubError as exc:
            self.notify(exc.message, severity="error")
        except (httpx.HTTPError, OSError) as exc:
            self.notify(f"the server did not answer: {exc or type(exc).__name__}", severity="error")
        return None

    async def read(self, room: Room) -> None:
        if room.messages:
            room.unread = 0
            await self.attempt(self.client.mark_read(room.conversation.id, room.messages[-1].id))

    # The conversation list ----------------------------------------------------------------

    @on(ListView.Selected, "#rooms")
    async def chosen(self, event: ListView.Selected) -> None:
        if isinstance(event.item, RoomItem):
            await self.open_room(event.item.room_id)

    async def open_room(self, room_id: uuid.UUID) -> None:
        room = self.state.rooms[room_id]
        self.open, self.reply_to, self.editing = room, None, None
        if not room.loaded:
            # Loaded from now on: a message arriving while the page is on its way is
            # filed beside it (by seq, once), not lost between the two.
            room.loaded = True
            page = await self.attempt(self.client.messages(room_id, limit=50))
            if page is None:
                room.loaded = False
                return
            room.older(page.messages, page.has_more)
        await self.draw_log(keep=False)
        await self.read(room)
        await self.draw_rooms()
        self.draw_status()
        self.query_one("#compose", Input).focus()

    @on(MessageLog.Older)
    async def load_older(self) -> None:
        room = self.open
        if room is None or not room.has_older or not room.messages:
            return
        first = room.messages[0]
        page = await self.attempt(
            self.client.messages(room.conversation.id, limit=50, before=first.id)
        )
        if page is None:
            return
        room.older(page.messages, page.has_more)
        await self.draw_log()
        log = self.query_one("#log", MessageLog)
        log.index = max(0, [m.id for m in room.messages].index(first.id) - 1)

    # Writing ----------------------------------------------------------------------------

    @on(Input.Changed, "#compose")
    async def typing(self, event: Input.Changed) -> None:
        now = time.monotonic()
        if self.open is None or not event.value or now - self.typed_at < TYPING_EVERY_S:
            return
        self.typed_at = now
        await self.attempt(self.client.typing(self.open.conversation.id))

    @on(Input.Submitted, "#compose")
    async def submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if text.startswith("/search"):
            self.action_search()
            return
        if text.startswith("/upload "):
            await self.upload(text.removeprefix("/upload ").strip())
            return
        room = self.open
        if room is None or not text:
            return
        conversation_id = room.conversation.id
        self.typed_at = 0.0
        if self.editing is not None:
            edit = self.client.edit_message(conversation_id, self.editing.id, text)
            if (edited := await self.attempt(edit)) is not None:
                room.place(edited)
                await self.show(room, edited)
        else:
            reply_to = self.reply_to.id if self.reply_to is not None else None
            await self.attempt(self.client.stop_typing(conversation_id))
            # Over the live connection, kept and sent again across a reconnect: waited
            # for aside, so that the screen goes on meanwhile.
            send = self.client.send(conversation_id, text, reply_to=reply_to)
            self.run_worker(self.attempt(send), group="send")
        self.editing = self.reply_to = None
        self.draw_status()

    async def upload(self, where: str) -> None:
        room = self.open
        if room is None:
            self.notify("open a conversation first", severity="warning")
            return
        path = await asyncio.to_thread(_file_at, where)
        if path is None:
            self.notify(f"no such file: {where}", severity="error")
            return
        self.notify(f"uploading {path.name}…")
        attachment = await self.attempt(self.client.upload(path))
        if attachment is not None:
            send = self.client.send(room.conversation.id, "", attachments=[attachment.id])
            await self.attempt(send)

    # Actions on the chosen message ----------------------------------------------------------

    def chosen_message(self) -> MessagePublic | None:
        item = self.query_one("#log", MessageLog).highlighted_child
        return item.message if isinstance(item, MessageItem) else None

    def action_reply(self) -> None:
        self.reply_to, self.editing = self.chosen_message(), None
        self.draw_status()
        self.query_one("#compose", Input).focus()

    def action_edit(self) -> None:
        message = self.chosen_message()
        if message is None or message.sender_id != self.state.me:
            self.notify("only your own messages can be edited", severity="warning")
            return
        self.editing, self.reply_to = message, None
        compose = self.query_one("#compose", Input)
        compose.value = message.content
        compose.focus()
        self.draw_status()

    async def action_delete(self) -> None:
        message = self.chosen_message()
        if message is None or self.open is None:
            return
        gone = await self.attempt(self.client.delete_message(message.conversation_id, message.id))
        if gone is None:
            return
        self.open.place(gone)
        await self.show(self.open, gone)

    def action_react(self) -> None:
        message = self.chosen_message()
        if message is None:
            return

        async def react(emoji: str | None) -> None:
            if emoji is not None:
                await self.attempt(self.client.react(message.conversation_id, message.id, emoji))

        self.app.push_screen(PromptScreen("React with (an emoji):", "👍"), react)

    def action_upload(self) -> None:
        async def chosen(path: str | None) -> None:
            if path is not None:
                await self.upload(path)

        self.app.push_screen(PromptScreen("Upload a file (its path):"), chosen)

    def action_search(self) -> None:
        async def search(q: str) -> list[tuple[MessagePublic, Text]]:
            page = await self.attempt(self.client.search_messages(q, limit=50))
            if page is None:
                return []
            return [(m, self.search_line(m)) for m in page.messages]

        async def chosen(message: MessagePublic | None) -> None:
            if message is not None and message.conversation_id in self.state.rooms:
                await self.open_room(message.conversation_id)

        self.app.push_screen(SearchScreen(search), chosen)

    def search_line(self, message: MessagePublic) -> Text:
        room = self.state.rooms.get(message.conversation_id)
        where = Text(f"[{self.state.title(room) if room else '?'}] ", style="dim")
        return where + view.message_line(self.state, room, message)

    def action_cancel(self) -> None:
        self.reply_to = self.editing = None
        self.query_one("#compose", Input).value = ""
        self.draw_status()


def _file_at(where: str) -> Path | None:
    path = Path(where).expanduser()
    return path if path.is_file() else None

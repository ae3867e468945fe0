"""`ChatApp`: the terminal client's application. It logs in, opens the SDK's live
connection and hands its events over to the conversation screen
(`hubbub.tui.room_screen`), which shows them as they come."""

from __future__ import annotations

import contextlib
from typing import ClassVar

import httpx
from textual.app import App
from textual.binding import Binding, BindingType

from hubbub.client import AsyncClient, EventStream, HubbubError
from hubbub.tui.room_screen import RoomScreen
from hubbub.tui.screens import LoginScreen
from hubbub.tui.state import ChatState

THEMES = ("textual-dark", "textual-light")


class ChatApp(App[int]):
    TITLE = "hubbub chat"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "toggle_theme", "light/dark"),
        Binding("ctrl+q", "quit", "quit", priority=True),
    ]

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        max_backoff_s: float = 5.0,
    ) -> None:
        super().__init__()
        self.url = url
        self.username = username
        self.password = password
        self.client = AsyncClient(url, user_agent="hubbub-chat", max_backoff_s=max_backoff_s)
        self.state: ChatState | None = None
        self._stream: EventStream | None = None

    def on_mount(self) -> None:
        self.theme = THEMES[0]
        self.push_screen(LoginScreen(self.url, self.username, self.password, self.log_in))

    async def log_in(self, username: str, password: str) -> str | None:
        """Log in, go live, show the conversations; an error to show, or None."""
        try:
            me = await self.client.login(username, password)
            if self._stream is not None:  # an earlier try's
                self._stream.close()
            self._stream = self.client.events()  # before connecting: nothing is missed
            await self.client.connect()
            state = self.state = ChatState(me.id)
            for conversation in await self.client.all_conversations():
                state.add(conversation)
        except HubbubError as exc:
            return exc.message
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            return f"cannot reach {self.url}: {exc or type(exc).__name__}"
        state.connected = True
        self.switch_screen(RoomScreen(self.client, state, self._stream))
        return None

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()

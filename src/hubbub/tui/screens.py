"""The terminal client's smaller screens: logging in, asking for one line (a file to
upload, an emoji), and searching messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, ListItem, ListView, Static

from hubbub.wire.models import MessagePublic

# Logs in with (username, password); answers an error to show, or None once logged in.
LogIn = Callable[[str, str], Awaitable[str | None]]


class LoginScreen(Screen[None]):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    #login { width: 60; height: auto; border: round $accent; padding: 1 2; }
    #login-error { color: $error; }
    """

    def __init__(self, url: str, username: str | None, password: str | None, log_in: LogIn) -> None:
        super().__init__()
        self.url = url
        self.username = username or ""
        self.password = password  # given (HUBBUB_CHAT_PASSWORD, the prompt): tried at once
        self.log_in = log_in

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Label(f"Log in to {self.url}")
            yield Input(self.username, placeholder="username or email", id="login-username")
            yield Input(placeholder="password", password=True, id="login-password")
            yield Static("", id="login-error")

    def on_mount(self) -> None:
        target = "#login-password" if self.username else "#login-username"
        self.query_one(target, Input).focus()
        if self.username and self.password is not None:
            self.query_one("#login-password", Input).value = self.password
            self.submit()

    @on(Input.Submitted, "#login-username")
    def next_field(self) -> None:
        self.query_one("#login-password", Input).focus()

    @on(Input.Submitted, "#login-password")
    def submit(self) -> None:
        # Aside from the screen's own messages: logging in replaces this screen.
        self.run_worker(self._submit(), exclusive=True)

    async def _submit(self) -> None:
        username = self.query_one("#login-username", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        error = self.query_one("#login-error", Static)
        error.update("logging in…")
        failed = await self.log_in(username, password)
        if failed is not None:
            error.update(failed)


class PromptScreen(ModalScreen[str | None]):
    """One line asked for; Escape gives None."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    #prompt { width: 70; height: auto; border: round $accent; padding: 1 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.question)
            yield Input(self.value, id="prompt-input")

    @on(Input.Submitted)
    def answer(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class Hit(ListItem):
    def __init__(self, message: MessagePublic, text: Text) -> None:
        super().__init__(Label(text))
        self.message = message


# Searches with a query; answers the messages found, each with how it reads.
Search = Callable[[str], Awaitable[list[tuple[MessagePublic, Text]]]]


class SearchScreen(ModalScreen[MessagePublic | None]):
    """Search messages (every word, in the user's conversations); Enter on a result
    opens its conversation."""

    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    #search { width: 90%; height: 80%; border: round $accent; padding: 0 1; }
    #search-results { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "close")]

    def __init__(self, search: Search) -> None:
        super().__init__()
        self.search = search

    def compose(self) -> ComposeResult:
        with Vertical(id="search"):
            yield Input(placeholder="search messages", id="search-input")
            yield ListView(id="search-results")

    @on(Input.Submitted)
    async def run_search(self, event: Input.Submitted) -> None:
        results = self.query_one("#search-results", ListView)
        await results.clear()
        if not event.value.strip():
            return
        found = await self.search(event.value.strip())
        if not found:
            await results.append(ListItem(Label("nothing found")))
            return
        await results.extend(Hit(message, text) for message, text in found)
        results.index = 0
        results.focus()

    @on(ListView.Selected, "#search-results")
    def chosen(self, event: ListView.Selected) -> None:
        if isinstance(event.item, Hit):
            self.dismiss(event.item.message)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

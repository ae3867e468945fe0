"""The rows of the conversation screen's two lists, and the list of messages with its
keys."""

from __future__ import annotations

import uuid
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import MouseScrollUp
from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from hubbub.wire.models import MessagePublic


class RoomItem(ListItem):
    def __init__(self, room_id: uuid.UUID, text: Text) -> None:
        super().__init__(Label(text))
        self.room_id = room_id


class MessageItem(ListItem):
    def __init__(self, message: MessagePublic, text: Text) -> None:
        super().__init__(Label(text))
        self.message = message


class MessageLog(ListView):
    """The open conversation's messages; PageUp or the mouse wheel at the top asks for
    older ones."""

    class Older(Message):
        """The top was reached: load the page before."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "older", "older", show=False),
        Binding("r", "screen.reply", "reply"),
        Binding("e", "screen.edit", "edit"),
        Binding("d", "screen.delete", "delete"),
        Binding("plus", "screen.react", "react"),
    ]

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        if self.scroll_y == 0:  # the wheel at the top: older ones
            self.post_message(self.Older())

    def action_older(self) -> None:
        if not self.index:
            self.post_message(self.Older())
        else:
            self.index = max(0, self.index - 10)

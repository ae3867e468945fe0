"""How a message and a conversation read on one line of a terminal (plain Rich text,
never markup from the server: content is shown as text)."""

from __future__ import annotations

from rich.text import Text

from hubbub.tui.state import ChatState, Room
from hubbub.wire.models import MessagePublic


def message_line(state: ChatState, room: Room | None, message: MessagePublic) -> Text:
    line = Text()
    line.append(message.created_at.strftime("%H:%M "), style="dim")
    if message.parent_message_id is not None:
        parent = room.find(message.parent_message_id) if room is not None else None
        about = parent.content[:30] if parent is not None else "a message"
        line.append(f"↳ re: {about} | ", style="italic dim")
    if message.type == "SYSTEM":
        line.append(message.content, style="italic")
        return line
    mine = message.sender_id == state.me
    line.append(state.sender(message), style="bold green" if mine else "bold")
    line.append(": ")
    if message.deleted_at is not None or message.status == "DELETED":
        line.append("(deleted)", style="dim italic")
        return line
    line.append(message.content)
    for attachment in message.attachments:
        line.append(f" [file: {attachment.filename}, {attachment.size} bytes]", style="cyan")
    if message.edited_at is not None:
        line.append(" (edited)", style="dim")
    if message.reactions:
        shown = " ".join(f"{r.emoji} {r.count}" for r in message.reactions)
        line.append(f"  {shown}", style="yellow")
    if message.reply_count:
        replies = "reply" if message.reply_count == 1 else "replies"
        line.append(f"  [{message.reply_count} {replies}]", style="magenta")
    return line


def room_line(state: ChatState, room: Room, *, is_open: bool) -> Text:
    line = Text("▶ " if is_open else "  ")
    others = [p.user_id for p in room.conversation.participants if p.user_id != state.me]
    if room.conversation.type == "PRIVATE" and others:
        line.append("● " if others[0] in state.online else "○ ", style="green")
    line.append(state.title(room), style="bold" if room.unread else "")
    if room.unread:
        line.append(f" ({room.unread})", style="bold magenta")
    return line


def status_line(state: ChatState, room: Room | None, mode: str) -> Text:
    line = Text()
    if not state.connected:
        line.append("reconnecting… ", style="bold red")
    if room is not None and room.typing:
        names = ", ".join(sorted(room.typing.values()))
        line.append(f"{names} {'is' if len(room.typing) == 1 else 'are'} typing… ")
    if mode:
        line.append(mode, style="bold yellow")
    return line


def header_line(state: ChatState, room: Room | None) -> Text:
    if room is None:
        return Text("Choose a conversation (↑/↓, Enter)", style="dim")
    line = Text(state.title(room), style="bold")
    online = state.online_in(room)
    if online:
        line.append(f"  online: {', '.join(sorted(online))}", style="green")
    if room.has_older:
        line.append("  (PageUp at the top for older)", style="dim")
    return line

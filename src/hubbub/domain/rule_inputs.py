"""What the permission rules look at: the small protocols `hubbub.domain.rules` reads.

The store's rows (`Participant`, `SpaceMember`, `Message`, `StoredFile`,
`hubbub.store.access.ConversationAccess`) satisfy them as they are; the rules' tests
(tests/test_rules.py) pass plain values of the same shapes.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from hubbub.domain.enums import ConversationType, FileKind, MessageStatus, MessageType, Role


class Ranked(Protocol):
    """Someone with a role: a space member (`SpaceMember`) or a conversation participant."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def role(self) -> Role: ...


class Member(Ranked, Protocol):
    """A participant of a conversation (`Participant`), with its permission flags."""

    @property
    def can_send_messages(self) -> bool: ...

    @property
    def can_upload_files(self) -> bool: ...

    @property
    def can_add_members(self) -> bool: ...

    @property
    def can_remove_members(self) -> bool: ...


class ConversationLike(Protocol):
    @property
    def type(self) -> ConversationType: ...


class Seat(Protocol):
    """The caller's place in a conversation: the conversation and their own participant
    row (`hubbub.store.access.ConversationAccess`)."""

    @property
    def conversation(self) -> ConversationLike: ...

    @property
    def me(self) -> Member: ...


class SenderSeat(Protocol):
    """What the group commit of sends knows of a sender (`hubbub.store.access.SenderAccess`)."""

    @property
    def can_send(self) -> bool: ...


class MessageLike(Protocol):
    @property
    def sender_id(self) -> uuid.UUID: ...

    @property
    def type(self) -> MessageType: ...

    @property
    def status(self) -> MessageStatus: ...


class FileLike(Protocol):
    @property
    def owner_id(self) -> uuid.UUID: ...

    @property
    def kind(self) -> FileKind: ...

"""The domain's enumerations: conversation types, message types and states, roles.

At the bottom of the flow with the rest of `hubbub.domain`: the wire models, the store
and the permission rules all speak these names; this module imports nothing of hubbub.
"""

from __future__ import annotations

import enum


class ConversationType(enum.StrEnum):
    PRIVATE = "PRIVATE"
    GROUP = "GROUP"
    SPACE = "SPACE"


class MessageType(enum.StrEnum):
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    FILE = "FILE"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"
    SYSTEM = "SYSTEM"
    EMOJI = "EMOJI"


class MessageStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    DELETED = "DELETED"


class Role(enum.StrEnum):
    """Roles of a conversation participant and of a space member, highest first."""

    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MODERATOR = "MODERATOR"
    MEMBER = "MEMBER"


class ParticipantStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    LEFT = "LEFT"
    REMOVED = "REMOVED"
    PENDING = "PENDING"


class FileKind(enum.StrEnum):
    AVATAR = "avatar"
    MESSAGE_ATTACHMENT = "message_attachment"

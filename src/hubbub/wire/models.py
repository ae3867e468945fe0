"""Wire models: every JSON shape that crosses the edge, HTTP or Socket.IO.

Built from the field types and base models of `hubbub.wire.fields`; at the bottom of
the flow with `hubbub.domain`, so that actions, queries, events and edges all speak
them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StringConstraints,
)

from hubbub.domain.enums import (
    ConversationType,
    MessageStatus,
    MessageType,
    ParticipantStatus,
    Role,
)
from hubbub.domain.notify_rules import NotifyLevel
from hubbub.wire.fields import (
    SEND_RULES,
    Bio,
    CleanStr,
    Description,
    DisplayName,
    EmailAddress,
    Emoji,
    FileReference,
    InputModel,
    InputTime,
    MessageText,
    Metadata,
    Name,
    Password,
    Timestamp,
    Username,
    WireModel,
    not_null,
    when_type,
)

# Users -----------------------------------------------------------------------------


class UserPublic(WireModel):
    id: uuid.UUID
    username: str
    display_name: str | None
    avatar: str | None
    bio: str | None
    is_online: bool | None  # both null to anyone but oneself and one's contacts
    last_seen: Timestamp | None
    created_at: Timestamp
    is_bot: bool  # a bot user (docs/integrations.md), shown as one everywhere


class Me(UserPublic):
    email: str
    updated_at: Timestamp


class SenderPublic(WireModel):
    id: uuid.UUID
    username: str
    display_name: str | None
    avatar: str | None
    is_bot: bool


class UserEnvelope(WireModel):
    user: UserPublic


class MeEnvelope(WireModel):
    user: Me


class UserList(WireModel):
    users: list[UserPublic]
    total: int


class UpdateMe(InputModel):
    display_name: DisplayName | None = None
    avatar: FileReference = None
    bio: Bio | None = None


# Auth ------------------------------------------------------------------------------


class RegisterRequest(InputModel):
    username: Username
    email: EmailAddress
    password: Password
    display_name: DisplayName | None = None


class LoginRequest(InputModel):
    # `email` may hold the username too (the seed's clients send one field).
    email: Annotated[CleanStr, StringConstraints(min_length=1, max_length=255)]
    password: Annotated[CleanStr, StringConstraints(min_length=1, max_length=128)]


class RefreshRequest(InputModel):
    refresh_token: Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]


class LogoutRequest(InputModel):
    refresh_token: Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)] | None = (
        None
    )


class TokenPair(WireModel):
    token: str
    refresh_token: str


class AuthResult(WireModel):
    user: Me
    token: str
    refresh_token: str


class Success(WireModel):
    success: StrictBool = True


# Files ------------------------------------------------------------------------------


class AttachmentPublic(WireModel):
    id: uuid.UUID
    url: str
    filename: str
    size: int
    mime_type: str
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None


# Conversations, spaces, messages ------------------------------------------------------


OptimisticId = Annotated[CleanStr, StringConstraints(min_length=1, max_length=100)]
UserIds = Annotated[list[uuid.UUID], Field(max_length=1000)]


class ReactionPublic(WireModel):
    emoji: str
    count: int
    user_ids: list[uuid.UUID]


class MessagePublic(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    sender: SenderPublic | None
    type: MessageType
    content: str
    status: MessageStatus
    seq: int
    change_seq: int
    parent_message_id: uuid.UUID | None
    thread_id: uuid.UUID | None
    reply_count: int
    attachments: list[AttachmentPublic]
    metadata: dict[str, Any]
    mentions: list[uuid.UUID]
    reactions: list[ReactionPublic]
    client_timestamp: Timestamp | None
    server_timestamp: Timestamp
    created_at: Timestamp
    updated_at: Timestamp
    edited_at: Timestamp | None
    deleted_at: Timestamp | None
    optimistic_id: str | None

    _wired: dict[str, Any] | None = PrivateAttr(default=None)

    def wire(self) -> dict[str, Any]:
        # Dumped once: a new message goes out twice (its event, the sender's ack). The
        # dict is shared, so it is never changed after this.
        if self._wired is None:
            self._wired = super().wire()
        return self._wired


class ParticipantPublic(WireModel):
    user_id: uuid.UUID
    user: UserPublic
    role: Role
    status: ParticipantStatus
    joined_at: Timestamp
    last_read_at: Timestamp | None
    last_read_message_id: uuid.UUID | None
    last_read_seq: int
    can_send_messages: bool
    can_upload_files: bool
    can_add_members: bool
    can_remove_members: bool
    notifications_enabled: bool


class ConversationPublic(WireModel):
    id: uuid.UUID
    type: ConversationType
    name: str | None
    description: str | None
    avatar: str | None
    space_id: uuid.UUID | None
    is_archived: bool
    created_by: uuid.UUID | None
    created_at: Timestamp
    updated_at: Timestamp
    last_message_at: Timestamp
    last_message: MessagePublic | None
    last_seq: int
    participants: list[ParticipantPublic]
    participant_count: int
    unread_count: int
    unread_mentions: int = 0
    my_role: Role
    notifications_enabled: bool
    notification_level: NotifyLevel | None = None
    muted_until: Timestamp | None = None


class SpacePublic(WireModel):
    id: uuid.UUID
    name: str
    description: str | None
    avatar: str | None
    created_by: uuid.UUID | None
    created_at: Timestamp
    member_count: int
    my_role: Role


class ConversationEnvelope(WireModel):
    conversation: ConversationPublic


class ConversationList(WireModel):
    conversations: list[ConversationPublic]
    total: int
    # Opaque: give it back as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None


class SpaceConversations(WireModel):
    conversations: list[ConversationPublic]


class ParticipantEnvelope(WireModel):
    participant: ParticipantPublic


class SpaceEnvelope(WireModel):
    space: SpacePublic


class SpaceList(WireModel):
    spaces: list[SpacePublic]


class MessageEnvelope(WireModel):
    message: MessagePublic


class MessagePage(WireModel):
    messages: list[MessagePublic]
    has_more: bool
    total_count: int


class MentionItem(WireModel):
    message: MessagePublic
    conversation_id: uuid.UUID
    conversation_name: str | None


class MentionPage(WireModel):
    """GET /mentions: newest first; `nextCursor` is opaque, null on the last page."""

    mentions: list[MentionItem]
    next_cursor: str | None = None


class ThreadPage(WireModel):
    messages: list[MessagePublic]
    has_more: bool


class SearchPage(WireModel):
    messages: list[MessagePublic]
    has_more: bool


class ChangesPage(WireModel):
    changes: list[MessagePublic]
    last_seq: int
    has_more: bool


class ReactionList(WireModel):
    reactions: list[ReactionPublic]


class ReadResult(WireModel):
    success: bool = True
    unread_count: int


class CreateConversation(InputModel):
    # What each type needs (checked by the action), for the OpenAPI document.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                when_type("PRIVATE", {"participantIds": {"minItems": 1, "maxItems": 1}}),
                when_type("GROUP", {"participantIds": {"minItems": 1}, "name": {}}),
                when_type("SPACE", {"spaceId": {}, "name": {}}),
            ]
        }
    )
    type: ConversationType
    participant_ids: UserIds = Field(default_factory=list)
    name: Name | None = None
    description: Description | None = None
    space_id: uuid.UUID | None = None


class UpdateConversation(InputModel):
    # A name can be changed, not taken away (null is refused).
    model_config = ConfigDict(json_schema_extra=not_null("name"))
    name: Name | None = None
    description: Description | None = None
    avatar: FileReference = None


class AddParticipants(InputModel):
    user_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)]
    role: Role = Role.MEMBER


class UpdateParticipant(InputModel):
    role: Role | None = None
    can_send_messages: StrictBool | None = None
    can_upload_files: StrictBool | None = None
    can_add_members: StrictBool | None = None
    can_remove_members: StrictBool | None = None


class SendMessage(InputModel):
    # SYSTEM messages are the server's; a message without files needs some text.
    model_config = ConfigDict(json_schema_extra=SEND_RULES)
    content: MessageText = ""
    type: MessageType = MessageType.TEXT
    attachments: Annotated[list[uuid.UUID], Field(max_length=10)] = Field(default_factory=list)
    parent_message_id: uuid.UUID | None = None
    mentions: Annotated[list[uuid.UUID], Field(max_length=100)] = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    optimistic_id: OptimisticId | None = None
    client_timestamp: InputTime | None = None


class EditMessage(InputModel):
    content: MessageText


class ReactionInput(InputModel):
    emoji: Emoji


class CreateSpace(InputModel):
    name: Name
    description: Description | None = None


class AddSpaceMembers(InputModel):
    user_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)]

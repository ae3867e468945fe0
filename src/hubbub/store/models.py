"""The data model (docs/data-model.md) as SQLAlchemy 2 declarative models.

Storage is the bottom of the flow: edge -> services -> these tables. The same models
serve SQLite and PostgreSQL; the per-dialect column forms come from `dialect.py`.
The Alembic migrations under `hubbub/migrations` create exactly this schema.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hubbub.domain.enums import (
    ConversationType,
    FileKind,
    MessageStatus,
    MessageType,
    ParticipantStatus,
    Role,
)
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.notify_rules import NotifyLevel
from hubbub.store.dialect import JsonDocument, UTCDateTime, UuidList, uuid_column_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: uuid_column_type()}  # noqa: RUF012


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK rather than native PostgreSQL enums: adding a value later is a
    # plain migration on both databases.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(50))
    # Lower-cased copy: uniqueness and lookups are case-insensitive on both databases.
    username_key: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(100))
    display_name_key: Mapped[str | None] = mapped_column(String(100), index=True)
    # The avatar by its file id (an image this user uploaded as an avatar); its URL is
    # signed on every read. No foreign key: files already point at users.
    avatar_file_id: Mapped[uuid.UUID | None]
    bio: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # A server administrator (accounts), not a role in any conversation or space.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    bot_owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    last_seen: Mapped[datetime | None]
    # Deleted by its owner: a tombstone ("Deleted user") that keeps the messages' sender.
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationPreference(Base):
    """A user's notification defaults; no row means the defaults of
    `hubbub.domain.notify_rules.Preferences`."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    private_level: Mapped[NotifyLevel] = mapped_column(_enum(NotifyLevel, "private_level"))
    group_level: Mapped[NotifyLevel] = mapped_column(_enum(NotifyLevel, "group_level"))
    space_level: Mapped[NotifyLevel] = mapped_column(_enum(NotifyLevel, "space_level"))
    paused_until: Mapped[datetime | None]
    # Do-not-disturb hours as minutes after midnight on the user's clock (`timezone`).
    quiet_start_minute: Mapped[int | None] = mapped_column(Integer)
    quiet_end_minute: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    # Email digests of unread mentions and direct messages (when the server sends them).
    digests: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DigestState(Base):
    """A user's email digests: when the last was sent, up to when what it listed was
    sent; claimed by a conditional write, so that exactly one node sends each."""

    __tablename__ = "digest_state"
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_sent_at: Mapped[datetime | None]
    covered_until: Mapped[datetime]


class PushSubscription(Base):
    """A browser's Web Push subscription (RFC 8030): where to push, and the keys that
    encrypt each push for it alone (RFC 8291). One row per endpoint: a browser that
    subscribes again for another user moves to that user."""

    __tablename__ = "push_subscriptions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Space(Base):
    __tablename__ = "spaces"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    avatar_file_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SpaceMember(Base):
    __tablename__ = "space_members"

    space_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role, "space_role"), default=Role.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_space_members_user_id", "user_id"),)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[ConversationType] = mapped_column(_enum(ConversationType, "conversation_type"))
    name: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    avatar_file_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    space_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # "<smaller user id>:<larger user id>" for PRIVATE conversations: one per pair, ever,
    # enforced by the database even when two clients create it at once.
    private_pair_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_id: Mapped[uuid.UUID | None]
    # The last sequence number handed out (docs/data-model.md, "Sequence numbers").
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # Non-deleted messages: the `totalCount` of a history page without a count(*).
    message_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)

    __table_args__ = (
        Index("ix_conversations_space_id", "space_id"),
        Index("ix_conversations_last_message_at", "last_message_at"),
    )


class Participant(Base):
    __tablename__ = "conversation_participants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "participant_role"), default=Role.MEMBER)
    status: Mapped[ParticipantStatus] = mapped_column(
        _enum(ParticipantStatus, "participant_status"), default=ParticipantStatus.ACTIVE
    )
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]
    last_read_at: Mapped[datetime | None]
    last_read_message_id: Mapped[uuid.UUID | None]
    # Markers, not counters: unread counts and message status derive from these.
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    last_delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    can_send_messages: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    can_upload_files: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    can_add_members: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    can_remove_members: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # The user's own choice for this conversation; None follows their default for its
    # type (notification_preferences).
    notify_level: Mapped[NotifyLevel | None] = mapped_column(_enum(NotifyLevel, "notify_level"))
    muted_until: Mapped[datetime | None]
    is_archived: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id"),
        Index("ix_conversation_participants_user_id_status", "user_id", "status"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[MessageType] = mapped_column(
        _enum(MessageType, "message_type"), default=MessageType.TEXT
    )
    content: Mapped[str] = mapped_column(Text, default="")
    # Stored status is SENT or DELETED; DELIVERED/READ are derived from markers.
    status: Mapped[MessageStatus] = mapped_column(
        _enum(MessageStatus, "message_status"), default=MessageStatus.SENT
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    parent_message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    thread_id: Mapped[uuid.UUID | None]
    reply_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)
    mentions: Mapped[list[uuid.UUID]] = mapped_column(UuidList, default=list)
    client_timestamp: Mapped[datetime | None]
    server_timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    optimistic_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        # Idempotency key per sender (NULLs never collide on either database).
        UniqueConstraint("sender_id", "optimistic_id"),
        Index("ix_messages_conversation_id_change_seq", "conversation_id", "change_seq"),
        Index("ix_messages_thread_id_seq", "thread_id", "seq"),
        # Replies only (partial): serves the self-referencing foreign key's checks.
        Index(
            "ix_messages_parent_message_id",
            "parent_message_id",
            postgresql_where=text("parent_message_id IS NOT NULL"),
            sqlite_where=text("parent_message_id IS NOT NULL"),
        ),
    )


class Reaction(Base):
    __tablename__ = "message_reactions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("message_id", "user_id", "emoji"),)


class StoredFile(Base):
    __tablename__ = "files"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[FileKind] = mapped_column(_enum(FileKind, "file_kind"))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(100))
    width: Mapped[int | None]
    height: Mapped[int | None]
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_files_owner_id", "owner_id"),)


class MessageFile(Base):
    """The link from a message to the files it carries, in order."""

    __tablename__ = "message_files"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_message_files_file_id", "file_id"),)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # A family is one login session: every rotation stays in it; reuse revokes all of it.
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Of the login or refresh that issued it: a session's newest token tells where and
    # when it was last used.
    user_agent: Mapped[str | None] = mapped_column(String(300))
    client_address: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_refresh_tokens_user_id", "user_id"),)


class PasswordResetToken(Base):
    """A password-reset token: stored hashed (SHA-256, as refresh tokens), single use."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_password_reset_tokens_user_id", "user_id"),)


class RevokedToken(Base):
    """A revoked access-token id (`jti`) or a whole session (`sid`, the refresh family or
    an API token), kept until the tokens it covers would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminAudit(Base):
    """One administrator's action (deactivate, reset link, ...), written in the same
    transaction as the action. `actor_id` is None for the operator at the terminal."""

    __tablename__ = "admin_audit"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_name: Mapped[str | None] = mapped_column(String(50))
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    client_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_admin_audit_created_at_id", "created_at", "id"),)

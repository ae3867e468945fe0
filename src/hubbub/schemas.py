"""Wire models: every JSON shape that crosses the edge, HTTP or Socket.IO (spec: API.md).

Inputs forbid unknown fields and use strict scalar types, so `"5"` is not a number and
`123` is not a string. Outputs serialise with camelCase names and ISO 8601 UTC times
with milliseconds and `Z`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StrictBool,
    StrictStr,
    StringConstraints,
)
from pydantic.alias_generators import to_camel


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates") from None
    return value


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


CleanStr = Annotated[StrictStr, AfterValidator(_clean_text)]


def trimmed(min_length: int, max_length: int) -> AfterValidator:
    """Strip surrounding white space, then require min..max characters."""

    def check(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:
            raise ValueError(f"must have at least {min_length} non-blank character(s)")
        if len(value) > max_length:
            raise ValueError(f"must have at most {max_length} characters")
        return value

    return AfterValidator(check)


Timestamp = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str, when_used="json")]

Username = Annotated[
    CleanStr, StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
]
Password = Annotated[CleanStr, StringConstraints(min_length=8, max_length=128)]
DisplayName = Annotated[CleanStr, trimmed(1, 100)]
AvatarUrl = Annotated[CleanStr, trimmed(0, 500)]
Bio = Annotated[CleanStr, StringConstraints(max_length=1000)]


class InputModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict, as sent over Socket.IO."""
        return self.model_dump(mode="json", by_alias=True)


# Users -----------------------------------------------------------------------------


class UserPublic(WireModel):
    id: uuid.UUID
    username: str
    display_name: str | None
    avatar: str | None
    bio: str | None
    is_online: bool
    last_seen: Timestamp | None
    created_at: Timestamp


class Me(UserPublic):
    email: str
    updated_at: Timestamp


class SenderPublic(WireModel):
    id: uuid.UUID
    username: str
    display_name: str | None
    avatar: str | None


class UserEnvelope(WireModel):
    user: UserPublic


class MeEnvelope(WireModel):
    user: Me


class UserList(WireModel):
    users: list[UserPublic]
    total: int


class UpdateMe(InputModel):
    display_name: DisplayName | None = None
    avatar: AvatarUrl | None = None
    bio: Bio | None = None


# Auth ------------------------------------------------------------------------------


class RegisterRequest(InputModel):
    username: Username
    email: Annotated[EmailStr, StringConstraints(max_length=255)]
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


class ErrorBody(BaseModel):
    """The one error shape (API.md, Errors)."""

    model_config = ConfigDict(populate_by_name=True)

    status_code: int = Field(alias="statusCode")
    error: str
    message: str
    code: str

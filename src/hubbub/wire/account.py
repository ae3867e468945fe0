"""A user's own account and password resets: the bodies of `/users/me/...` and
`/auth/password-reset...`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import StringConstraints

from hubbub.wire.fields import CleanStr, EmailAddress, InputModel, Password, Timestamp, WireModel

# A password as typed to prove who one is: checked, never validated as a new one.
GivenPassword = Annotated[CleanStr, StringConstraints(min_length=1, max_length=128)]
Email = EmailAddress


class ChangePasswordRequest(InputModel):
    current_password: GivenPassword
    new_password: Password


class ChangeEmailRequest(InputModel):
    password: GivenPassword
    email: Email


class DeleteAccountRequest(InputModel):
    password: GivenPassword


class SessionView(WireModel):
    """One signed-in session (a login, kept alive by refreshes)."""

    id: uuid.UUID
    user_agent: str | None
    address: str | None
    created_at: Timestamp
    last_used_at: Timestamp
    current: bool


class SessionList(WireModel):
    sessions: list[SessionView]


class SessionsEnded(WireModel):
    ended: int


class PasswordResetRequest(InputModel):
    email: Email


class PasswordResetAccepted(WireModel):
    """The one answer to every reset request, whether or not the address has an account."""

    accepted: Literal[True] = True
    message: str = "If an account has this address, a reset link is on its way."


class PasswordResetConfirm(InputModel):
    token: Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]
    new_password: Password


class ResetLink(WireModel):
    """A one-time password-reset link, for an administrator to hand over."""

    user_id: uuid.UUID
    link: str
    expires_at: Timestamp


class ExportState(WireModel):
    """Where the caller's data export stands: `none` (never asked, or removed), `running`,
    `ready` (with `url`, the caller's download), `failed` (ask again)."""

    status: Literal["none", "running", "ready", "failed"]
    id: uuid.UUID | None = None
    url: str | None = None
    size: int | None = None


class ExportedMessage(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    conversation_name: str | None
    conversation_type: str
    type: str
    content: str
    seq: int
    parent_message_id: uuid.UUID | None
    created_at: Timestamp
    edited_at: Timestamp | None


class ExportedFile(WireModel):
    id: uuid.UUID
    filename: str
    size: int
    mime_type: str
    kind: str
    created_at: Timestamp
    url: str

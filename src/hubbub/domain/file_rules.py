"""Who may have a file: the file rules beside `hubbub.domain.rules`, pure functions too.

A file is open to its uploader, an avatar to every signed-in user, anything else only
through a message of a conversation the caller is in (`hubbub.store.access.access_file`
asks the database). A signed URL names nobody, so what it gets depends on the file alone
(`signed_url_serves`). Tested as tables in tests/test_rules.py.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from hubbub.domain.enums import FileKind
from hubbub.domain.errors import NotFound


class FileLike(Protocol):
    @property
    def owner_id(self) -> uuid.UUID: ...

    @property
    def kind(self) -> FileKind: ...


def file_not_found() -> NotFound:
    return NotFound("File not found", code="file_not_found")


def file_open_to(stored: FileLike, user_id: uuid.UUID) -> bool:
    """Whether the user may have a file without any message carrying it: their own
    upload, or an avatar. Any other file only through a message of a conversation they
    are in (`hubbub.store.access.access_file` asks the database)."""
    if stored.owner_id == user_id:
        return True
    return stored.kind == FileKind.AVATAR  # avatars are public to every signed-in user


def signed_url_serves(
    *, carried: bool, carried_live: bool, current_avatar: bool, fresh: bool
) -> bool:
    """A signed URL names nobody: it gets its file while the file is in use (carried by
    a message not deleted, or an avatar now), or never carried and uploaded within a
    URL's lifetime (`fresh`: its upload's own URL)."""
    return carried_live or current_avatar or (not carried and fresh)


def avatar_choosable(stored: FileLike | None, user_id: uuid.UUID) -> bool:
    """An avatar must be an image the user uploaded with type=avatar."""
    return stored is not None and stored.owner_id == user_id and stored.kind == FileKind.AVATAR

"""Uploads: turning a received file into a stored one.

Edge (hubbub.edge.http.routes.files, which streams the multipart body into a temp file under
the size cap) -> here -> storage: the `files` table and the blob store
(hubbub.store.blobs). An upload is sniffed from its bytes (hubbub.store.filetypes),
moved under a server-made storage key, and only then recorded; a failure at any step
leaves no row and no blob. Downloads are `hubbub.queries.files`.
"""

from __future__ import annotations

import asyncio
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hubbub.actions.budgets import Budgets
from hubbub.config import Budget
from hubbub.domain.enums import FileKind
from hubbub.domain.errors import ValidationFailed
from hubbub.domain.ids import new_id
from hubbub.queries.files import FALLBACK_NAME
from hubbub.queries.presenters import attachment_public
from hubbub.security.urls import FileUrlSigner
from hubbub.store.blobs import BlobStore
from hubbub.store.database import Database
from hubbub.store.filetypes import ImageNotCleanable, ImageTooLarge, inspect_file
from hubbub.store.models import StoredFile
from hubbub.wire.models import (
    AttachmentPublic,
)

MAX_FILENAME_CHARS = 255
_INSPECT_CONCURRENCY = 2


def display_filename(raw: str | None) -> str:
    """The client's file name, fit to show and to put in a header; never used as a path.

    Base name only (either slash separates), no control or format characters (NUL, CR,
    LF, bidi overrides), no `..`, at most 255 characters keeping the extension; `file`
    when nothing is left.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    while ".." in name:
        name = name.replace("..", ".")
    name = name.strip().rstrip(". ")
    if len(name) > MAX_FILENAME_CHARS:
        suffix = PurePosixPath(name).suffix
        if len(suffix) > 16:
            suffix = ""
        name = name[: MAX_FILENAME_CHARS - len(suffix)].rstrip(". ") + suffix
    return name if name not in ("", ".") else FALLBACK_NAME


@dataclass(frozen=True)
class UploadLimits:
    max_upload_bytes: int
    max_avatar_bytes: int

    def cap_for(self, kind: str | None) -> int:
        """The size cap of an upload of this kind (the general cap while it is not known)."""
        return self.max_avatar_bytes if kind == FileKind.AVATAR.value else self.max_upload_bytes

    @property
    def largest(self) -> int:
        return max(self.max_upload_bytes, self.max_avatar_bytes)


@dataclass(frozen=True)
class ReceivedFile:
    """A file the edge has received completely into a temp file (which the edge removes)."""

    path: Path
    size: int
    filename: str | None  # as the client sent it: display metadata only


class FileService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        urls: FileUrlSigner,
        *,
        limits: UploadLimits,
        max_image_pixels: int,
        budgets: Budgets,
    ) -> None:
        self._db = db
        self._budgets = budgets
        self._blobs = blobs
        self._urls = urls
        self.limits = limits
        self._max_image_pixels = max_image_pixels
        # Decoding a large image takes hundreds of MiB: a few at a time, not one per upload.
        self._inspecting = asyncio.Semaphore(_INSPECT_CONCURRENCY)

    @property
    def temp_dir(self) -> Path:
        return self._blobs.temp_dir()

    async def begin_upload(self, owner_id: uuid.UUID) -> None:
        """Called before the body is read: an upload over budget costs no bytes."""
        await self._budgets.take(Budget.UPLOAD, owner_id)

    async def store_upload(
        self, owner_id: uuid.UUID, kind: FileKind, received: ReceivedFile
    ) -> AttachmentPublic:
        if received.size == 0:
            raise ValidationFailed("file: must not be empty", code="empty_file")
        try:
            async with self._inspecting:
                found = await asyncio.to_thread(
                    inspect_file, received.path, max_pixels=self._max_image_pixels
                )
        except ImageTooLarge:
            raise ValidationFailed(
                "file: the image has too many pixels", code="image_too_large"
            ) from None
        except ImageNotCleanable:
            raise ValidationFailed(
                "file: the image's metadata cannot be removed", code="image_not_cleanable"
            ) from None
        if kind == FileKind.AVATAR and not found.is_image:
            raise ValidationFailed(
                "file: an avatar must be a PNG, JPEG, GIF or WebP image", code="not_an_image"
            )
        row = StoredFile(
            id=new_id(),
            owner_id=owner_id,
            kind=kind,
            storage_key=self._blobs.new_key(),
            filename=display_filename(received.filename),
            size=received.size if found.clean is None else len(found.clean),
            mime_type=found.mime_type,
            width=found.width,
            height=found.height,
            thumbnail_key=None,
        )
        written: list[str] = []
        try:
            if found.clean is None:
                await self._blobs.put_file(row.storage_key, received.path)
            else:  # an image, upright and without its metadata
                await self._blobs.put_bytes(row.storage_key, found.clean)
            written.append(row.storage_key)
            if found.thumbnail is not None:
                row.thumbnail_key = row.storage_key + "-thumb"
                await self._blobs.put_bytes(row.thumbnail_key, found.thumbnail)
                written.append(row.thumbnail_key)
            # Bytes first, row last: a committed row always has its bytes.
            async with self._db.write() as session:
                session.add(row)
        except BaseException:
            for key in written:
                await self._blobs.delete(key)
            raise
        return attachment_public(row, self._urls)

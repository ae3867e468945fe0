"""Downloads: a stored file back into bytes, for a signed-in user or a signed URL.

Edge (hubbub.edge.http.routes.files, which verifies a signed URL and serves the bytes)
-> here -> storage: the `files` table and the blob store (hubbub.store.blobs). Who may
download is decided by `access_file` (hubbub.store.access); a signed URL the edge has
verified names no one, so it gets the file only while the file is in use
(`signed_url_serves`: a message that is not deleted carries it, or it is an avatar now,
or it was uploaded too recently to have been used). The types served inline are those
the upload sniffing (hubbub.store.filetypes, which imports nothing of hubbub but its
image cleaner) recognises as raster images.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from hubbub.domain.file_rules import file_not_found, signed_url_serves
from hubbub.domain.ids import utcnow
from hubbub.store.access import access_file
from hubbub.store.blobs import BlobStore
from hubbub.store.database import Database
from hubbub.store.files import file_by_id_txn, file_use_txn
from hubbub.store.filetypes import INLINE_IMAGE_TYPES, STORED_TYPES, THUMBNAIL_TYPE

log = logging.getLogger("hubbub.files")
# The Content-Types a download can have (the HTTP edge documents them).
DOWNLOAD_TYPES = STORED_TYPES

# The name of a file whose own name leaves nothing to show (`display_filename`).
FALLBACK_NAME = "file"


@dataclass(frozen=True)
class Download:
    path: Path
    media_type: str
    filename: str
    inline: bool  # a safe raster image; anything else is served as an attachment


class FileQueries:
    def __init__(self, db: Database, blobs: BlobStore, *, url_lifetime_s: int) -> None:
        self._db = db
        self._blobs = blobs
        self._url_lifetime = timedelta(seconds=url_lifetime_s)

    async def download(
        self, file_id: uuid.UUID, *, user_id: uuid.UUID | None, signed: bool, thumbnail: bool
    ) -> Download:
        """The bytes of a file for a verified signed URL (`signed`) or a signed-in user.

        Anything the caller may not have is NotFound, never Forbidden.
        """
        async with self._db.read() as session:
            if signed:
                stored = await file_by_id_txn(session, file_id)
                if stored is None:
                    raise file_not_found()
                use = await file_use_txn(session, stored)
                fresh = stored.created_at > utcnow() - self._url_lifetime
                if not signed_url_serves(
                    carried=use.carried,
                    carried_live=use.carried_live,
                    current_avatar=use.current_avatar,
                    fresh=fresh,
                ):
                    raise file_not_found()
            elif user_id is not None:
                stored = await access_file(session, user_id, file_id)
            else:
                raise file_not_found()
        key = stored.thumbnail_key if thumbnail else stored.storage_key
        if key is None:
            raise file_not_found()
        path = await self._blobs.local_path(key)
        if path is None:
            log.warning("file %s has a row but no bytes", stored.id)
            raise file_not_found()
        if thumbnail:
            stem = PurePosixPath(stored.filename).stem or FALLBACK_NAME
            return Download(path, THUMBNAIL_TYPE, f"{stem}.webp", inline=True)
        return Download(
            path,
            stored.mime_type,
            stored.filename,
            inline=stored.mime_type in INLINE_IMAGE_TYPES,
        )

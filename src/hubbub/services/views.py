"""Turning stored rows into wire models (API.md, Objects), in batches.

Services call these after their queries; each loader takes a page of rows and fetches
what they reference (senders, attachments, reactions, participants) in one query per
kind, never one per row.
"""

from __future__ import annotations

from hubbub.db.models import StoredFile
from hubbub.schemas import AttachmentPublic
from hubbub.security.urls import FileUrlSigner


def attachment_public(stored: StoredFile, urls: FileUrlSigner) -> AttachmentPublic:
    return AttachmentPublic(
        id=stored.id,
        url=urls.url(stored.id, stored.filename),
        filename=stored.filename,
        size=stored.size,
        mime_type=stored.mime_type,
        width=stored.width,
        height=stored.height,
        thumbnail_url=(
            urls.url(stored.id, stored.filename, thumbnail=True) if stored.thumbnail_key else None
        ),
    )

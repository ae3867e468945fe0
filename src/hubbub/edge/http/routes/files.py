"""HTTP edge for /files: upload (streamed, capped) and download (Bearer or signed URL).

Parse, one service call (an upload: hubbub.actions.files; a download:
hubbub.queries.files), serialise. The upload body is received by
`hubbub.edge.http.uploads` (size cap, temp file); a download is answered with the file's
bytes and headers that keep a browser from treating them as anything but what they were
sniffed to be.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from hubbub.domain.enums import FileKind
from hubbub.domain.errors import BadRequest, ValidationFailed
from hubbub.edge.http.deps import BearerDep, PrincipalDep, ServicesDep, get_principal
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.edge.http.uploads import FILE_FIELD, receive_upload
from hubbub.queries.files import DOWNLOAD_TYPES, Download
from hubbub.wire.models import AttachmentPublic
from hubbub.wire.query import QueryBool

router = APIRouter(prefix="/files", tags=["files"])

# The multipart body is streamed by hand, so FastAPI cannot describe it by itself.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD, "type"],
                    "properties": {
                        FILE_FIELD: {"type": "string", "format": "binary", "minLength": 1},
                        "type": {"type": "string", "enum": [k.value for k in FileKind]},
                    },
                }
            }
        },
    }
}

_BINARY = {"type": "string", "format": "binary"}

# Every download: the browser must not second-guess the type, must not render anything
# active even if it did, and shared caches must not keep a private file.
_DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private",
}


def _kind(value: str | None) -> FileKind:
    if value is None:
        raise ValidationFailed("type: field required")
    try:
        return FileKind(value)
    except ValueError:
        raise BadRequest(
            "type: must be 'avatar' or 'message_attachment'", code="invalid_enum"
        ) from None


@router.post(
    "/upload",
    status_code=201,
    response_model=AttachmentPublic,
    responses=raises(400, 403, 413, 415, 422, 429),
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a file (multipart: file, type)",
)
async def upload(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    files = services.files
    await files.begin_upload(principal.user_id)
    async with receive_upload(request, temp_dir=files.temp_dir, limits=files.limits) as body:
        kind = _kind(body.fields.get("type"))
        if body.file is None:
            raise ValidationFailed("file: field required", code="missing_file")
        attachment = await files.store_upload(principal.user_id, kind, body.file)
    return json_response(attachment, status_code=201)


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266: a plain ASCII `filename` for old clients, the exact name in `filename*`."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _file_response(download: Download) -> FileResponse:
    disposition = "inline" if download.inline else "attachment"
    return FileResponse(
        download.path,
        media_type=download.media_type,
        headers={
            **_DOWNLOAD_HEADERS,
            "Content-Disposition": content_disposition(disposition, download.filename),
        },
    )


@router.get(
    "/{file_id}/{filename}",
    response_class=FileResponse,
    responses={
        **raises(401),
        200: {
            "description": "the file's bytes, of the type sniffed at upload",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in DOWNLOAD_TYPES
            },
        },
    },
    summary="Download a file (Bearer token, or the signed URL from an upload)",
    # Either proves the right to read it: the token is optional (`{}`), and a file one
    # may not read, or one that is not there, is 404 either way.
    openapi_extra={"security": [{}]},
)
async def download(
    file_id: uuid.UUID,
    filename: str,  # cosmetic: the id names the file
    *,
    request: Request,
    services: ServicesDep,
    credentials: BearerDep,
    thumbnail: Annotated[QueryBool, Query(description="1 or true: the thumbnail")] = False,
    exp: Annotated[str | None, Query()] = None,
    sig: Annotated[str | None, Query()] = None,
) -> Response:
    signed = services.file_urls.verify(file_id, exp, sig)
    user_id = None
    if not signed and credentials is not None:
        user_id = (await get_principal(request, credentials)).user_id
    found = await services.file_queries.download(
        file_id, user_id=user_id, signed=signed, thumbnail=thumbnail
    )
    return _file_response(found)

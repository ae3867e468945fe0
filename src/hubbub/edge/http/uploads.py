"""Receiving a multipart upload: the parse step of POST /files/upload, streamed to disk.

`GuardMiddleware` lets /files/upload through unread, so this is where its size cap is
kept: by Content-Length before any byte is read, and by counting bytes while the body
streams through python-multipart's parser into a temp file in the upload store's temp
folder. Nothing holds the whole body in memory: file bytes go to disk in batches of at
most `_FLUSH_BYTES`, other fields are small and capped. The temp file is removed when
the `receive_upload` block ends, whatever happened (the service has moved it away by
then when the upload succeeded).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from hubbub.actions.files import ReceivedFile, UploadLimits
from hubbub.domain.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
# Multipart framing (boundaries, part headers, the small fields) on top of the file.
FRAMING_ALLOWANCE = 64 * 1024
MAX_FIELD_BYTES = 1024
MAX_PARTS = 16
_FLUSH_BYTES = 1024 * 1024


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"file: larger than the limit of {cap} bytes", code="file_too_large")


def _malformed(why: str) -> BadRequest:
    return BadRequest(f"Malformed multipart body: {why}", code="invalid_multipart")


@dataclass
class ReceivedUpload:
    fields: dict[str, str]
    file: ReceivedFile | None


@dataclass
class _Collector:
    """python-multipart callbacks: sorts parts into small text fields and the one file."""

    limits: UploadLimits
    fields: dict[str, str] = field(default_factory=dict)
    pending: list[bytes] = field(default_factory=list)  # file bytes not yet on disk
    pending_size: int = 0
    file_size: int = 0
    file_seen: bool = False
    file_done: bool = False
    filename: str | None = None
    parts: int = 0
    ended: bool = False
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _name: str | None = None
    _is_file: bool = False
    _value: bytearray = field(default_factory=bytearray)

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    @property
    def cap(self) -> int:
        # A `type` sent before the file narrows the cap while the file streams.
        return self.limits.cap_for(self.fields.get("type"))

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ValidationFailed(f"body: at most {MAX_PARTS} parts", code="too_many_parts")
        self._headers = {}
        self._name = None
        self._is_file = False
        self._value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise _malformed("a part without a form-data name")
        self._name = params[b"name"].decode("utf-8", errors="replace")
        if self._name == FILE_FIELD:
            if self.file_seen:
                raise ValidationFailed("file: only one file per upload", code="too_many_files")
            self.file_seen = True
            self._is_file = True
            if b"filename" in params:
                self.filename = params[b"filename"].decode("utf-8", errors="replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.file_size += end - start
            if self.file_size > self.cap:
                raise _too_large(self.cap)
            self.pending.append(data[start:end])
            self.pending_size += end - start
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise ValidationFailed(f"{self._name}: too long", code="field_too_long")

    def on_part_end(self) -> None:
        if self._is_file:
            self.file_done = True
            return
        assert self._name is not None
        try:
            value = bytes(self._value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(f"{self._name}: not valid UTF-8") from None
        if "\x00" in value:
            raise ValidationFailed(f"{self._name}: must not contain NUL characters")
        self.fields[self._name] = value

    def on_end(self) -> None:
        self.ended = True

    def take_pending(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        self.pending_size = 0
        return data


def _boundary(request: Request) -> bytes:
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType("Content-Type must be multipart/form-data")
    boundary = params.get(b"boundary", b"")
    if not boundary or len(boundary) > 70:  # RFC 2046: 1 to 70 characters
        raise _malformed("missing or invalid boundary")
    return boundary


def _check_content_length(request: Request, limits: UploadLimits) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return  # chunked: the streaming count below keeps the cap
    if not declared.isdigit():
        raise _malformed("invalid Content-Length")
    if int(declared) > limits.largest + FRAMING_ALLOWANCE:
        raise _too_large(limits.largest)


def _open_temp(temp_dir: Path) -> tuple[Path, BinaryIO]:
    temp_dir.mkdir(parents=True, exist_ok=True)
    path = temp_dir / f"{secrets.token_hex(16)}.part"
    return path, path.open("xb")


def _finish(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())  # the bytes are on disk before the row that names them
    fh.close()


@asynccontextmanager
async def receive_upload(
    request: Request, *, temp_dir: Path, limits: UploadLimits
) -> AsyncIterator[ReceivedUpload]:
    """Stream the body to a temp file; yield its fields and file; always remove the temp file.

    Raises PayloadTooLarge (413) past the cap, BadRequest (400) for a body that is not
    well-formed multipart, ValidationFailed (422) for too many or too long fields.
    """
    boundary = _boundary(request)
    _check_content_length(request, limits)
    collector = _Collector(limits)
    try:
        parser = MultipartParser(boundary, collector.callbacks())
    except FormParserError:
        raise _malformed("invalid boundary") from None
    path, fh = await asyncio.to_thread(_open_temp, temp_dir)
    try:
        try:
            total = 0
            async for chunk in request.stream():
                total += len(chunk)
                if total > limits.largest + FRAMING_ALLOWANCE:
                    raise _too_large(collector.cap)
                try:
                    parser.write(chunk)
                except FormParserError:
                    raise _malformed("cannot be parsed") from None
                if collector.pending_size >= _FLUSH_BYTES:
                    await asyncio.to_thread(fh.write, collector.take_pending())
            if not collector.ended or (collector.file_seen and not collector.file_done):
                raise _malformed("the body ends early")
            if collector.pending:
                await asyncio.to_thread(fh.write, collector.take_pending())
            await asyncio.to_thread(_finish, fh)
        except ClientDisconnect:
            # Nobody is left to answer; said as a plain 400 rather than logged as a crash.
            raise BadRequest("Upload interrupted", code="upload_interrupted") from None
        finally:
            if not fh.closed:
                await asyncio.to_thread(fh.close)
        # A `type` that came after the file may name a smaller cap than the one applied.
        if collector.file_size > collector.cap:
            raise _too_large(collector.cap)
        received = None
        if collector.file_seen:
            received = ReceivedFile(
                path=path, size=collector.file_size, filename=collector.filename
            )
        yield ReceivedUpload(fields=collector.fields, file=received)
    finally:
        with suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

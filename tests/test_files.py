"""Files over HTTP: POST /files/upload and GET /files/:id/:filename (docs/http-api.md, Files).

Covers sniffing from bytes, thumbnails, size caps while streaming, hostile names and
contents, and who may download (uploader, signed URL, conversation participants).
"""

from __future__ import annotations

import io
import os
import random
import re
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update

from hubbub.app import Node
from hubbub.domain.enums import (
    ConversationType,
    MessageStatus,
    MessageType,
    ParticipantStatus,
    Role,
)
from hubbub.domain.ids import utcnow
from hubbub.store.blobs import LocalBlobStore
from hubbub.store.models import Conversation, Message, MessageFile, Participant, StoredFile
from tests.conftest import Account, RegisterFn, assert_error, count_rows

BOUNDARY = "hubbub-test-boundary-7f3a"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cache-control": "private",
}
STORAGE_KEY = re.compile(r"uploads/[0-9a-f]{2}/[0-9a-f]{32}")


# Building request bodies ---------------------------------------------------------------


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30), **save: Any) -> bytes:
    image = Image.new("RGB", size, (200, 30, 90))
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def noise_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress: its byte size grows with its pixel count."""
    data = random.Random(7).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, data).save(out, format="PNG")
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG of a few kilobytes declaring width x height black pixels (1-bit)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 100) for _ in range(height // 100)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def multipart(*parts: tuple[str, bytes | str, bytes | None]) -> bytes:
    """A multipart/form-data body of (name, value, filename) parts, exactly as given."""
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'.encode()
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        data = value.encode() if isinstance(value, str) else value
        out += f"--{BOUNDARY}\r\n".encode()
        out += b"Content-Disposition: " + disposition + b"\r\n"
        if filename is not None:
            # Deliberately a lie: the type must come from the bytes.
            out += b"Content-Type: image/png\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


async def upload(
    client: httpx.AsyncClient,
    who: Account,
    data: bytes,
    filename: str = "upload.bin",
    kind: str = "message_attachment",
) -> httpx.Response:
    body = multipart(("type", kind, None), ("file", data, filename.encode()))
    return await client.post("/files/upload", content=body, headers={**who.headers, **MULTIPART})


async def upload_ok(client: httpx.AsyncClient, who: Account, data: bytes, **kw: Any) -> Any:
    response = await upload(client, who, data, **kw)
    assert response.status_code == 201, response.text
    return response.json()


def files_on_disk(node: Node) -> list[Path]:
    root = node.services.settings.data_dir / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def assert_nothing_stored(node: Node) -> None:
    assert await count_rows(node, "files") == 0
    assert files_on_disk(node) == []


def assert_headers(response: httpx.Response, content_type: str, disposition: str) -> None:
    assert response.headers["content-type"] == content_type
    assert response.headers["content-disposition"] == disposition
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name


# Uploads that succeed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ext", "mime_type"),
    [
        ("PNG", "png", "image/png"),
        ("JPEG", "jpg", "image/jpeg"),
        ("GIF", "gif", "image/gif"),
        ("WEBP", "webp", "image/webp"),
    ],
)
async def test_upload_image_has_dimensions_and_a_thumbnail(
    client: httpx.AsyncClient, register: RegisterFn, fmt: str, ext: str, mime_type: str
) -> None:
    me = await register()
    data = image_bytes(fmt, (800, 600))
    body = await upload_ok(client, me, data, filename=f"photo.{ext}")
    assert set(body) == {
        "id",
        "url",
        "filename",
        "size",
        "mimeType",
        "width",
        "height",
        "thumbnailUrl",
    }
    assert (body["mimeType"], body["width"], body["height"]) == (mime_type, 800, 600)
    assert (body["filename"], body["size"]) == (f"photo.{ext}", len(data))
    assert body["url"].startswith(f"/files/{body['id']}/photo.{ext}?exp=")

    original = await client.get(body["url"])  # the signed URL alone, no header
    assert original.status_code == 200
    assert original.content == data
    assert_headers(
        original, mime_type, f"inline; filename=\"photo.{ext}\"; filename*=UTF-8''photo.{ext}"
    )

    thumb = await client.get(body["thumbnailUrl"])
    assert thumb.status_code == 200
    assert_headers(
        thumb, "image/webp", "inline; filename=\"photo.webp\"; filename*=UTF-8''photo.webp"
    )
    small = Image.open(io.BytesIO(thumb.content))
    assert (small.format, small.size) == ("WEBP", (320, 240))


async def test_jpeg_turned_by_exif_reports_its_upright_size(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    body = await upload_ok(client, me, image_bytes("JPEG", (40, 20), exif=exif.tobytes()))
    assert (body["width"], body["height"]) == (20, 40)
    thumb = await client.get(body["thumbnailUrl"])
    assert Image.open(io.BytesIO(thumb.content)).size == (20, 40)


async def test_upload_pdf_is_an_attachment(client: httpx.AsyncClient, register: RegisterFn) -> None:
    me = await register()
    data = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    body = await upload_ok(client, me, data, filename="report.pdf")
    assert body["mimeType"] == "application/pdf"
    assert body["width"] is None
    assert body["height"] is None
    assert body["thumbnailUrl"] is None

    response = await client.get(body["url"].split("?")[0], headers=me.headers)  # Bearer only
    assert response.status_code == 200
    assert response.content == data
    assert_headers(
        response,
        "application/pdf",
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
    )
    no_thumb = await client.get(body["url"] + "&thumbnail=1")
    assert_error(no_thumb, 404, "file_not_found")


async def test_upload_plain_text_and_a_non_ascii_name(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    data = "héllo, wörld\n".encode()
    body = await upload_ok(client, me, data, filename="résumé 2024.txt")
    assert (body["mimeType"], body["filename"]) == ("text/plain", "résumé 2024.txt")
    response = await client.get(body["url"])
    assert response.content == data
    assert_headers(
        response,
        "text/plain; charset=utf-8",
        "attachment; filename=\"r_sum_ 2024.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.txt",
    )


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 30, "application/zip"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video/mp4"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 20, "audio/mpeg"),
        (b"OggS\x00\x02" + b"\x00" * 30, "audio/ogg"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 20, "audio/wav"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 8, "video/webm"),
        ("café".encode("latin-1"), "application/octet-stream"),  # not UTF-8
        (b"text with a \x00 NUL", "application/octet-stream"),
        (b"\x89PNG\r\n\x1a\n broken after the signature", "application/octet-stream"),
    ],
)
async def test_type_comes_from_the_bytes(
    client: httpx.AsyncClient, register: RegisterFn, data: bytes, mime_type: str
) -> None:
    me = await register()
    body = await upload_ok(client, me, data, filename="clip.png")  # the name says PNG
    assert body["mimeType"] == mime_type
    assert body["width"] is None
    response = await client.get(body["url"])
    assert response.headers["content-type"] == mime_type
    assert response.headers["content-disposition"].startswith("attachment;")


# Hostile contents and names ----------------------------------------------------------------


async def test_html_named_png_is_text_served_as_attachment(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    data = b"<html><body><script>alert(document.cookie)</script></body></html>"
    body = await upload_ok(client, me, data, filename="cat.png")
    assert (body["mimeType"], body["width"], body["thumbnailUrl"]) == ("text/plain", None, None)
    response = await client.get(body["url"])
    assert response.content == data
    assert_headers(
        response,
        "text/plain; charset=utf-8",
        "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png",
    )


async def test_svg_with_a_script_is_never_an_inline_image(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    data = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
    )
    body = await upload_ok(client, me, data, filename="logo.svg")
    assert body["mimeType"] == "text/plain"
    response = await client.get(body["url"])
    assert_headers(
        response,
        "text/plain; charset=utf-8",
        "attachment; filename=\"logo.svg\"; filename*=UTF-8''logo.svg",
    )
    assert_error(
        await upload(client, me, data, filename="logo.svg", kind="avatar"), 422, "not_an_image"
    )


async def test_path_in_the_filename_never_reaches_the_disk(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    body = await upload_ok(client, me, b"hello", filename="../../../etc/passwd")
    assert body["filename"] == "passwd"
    body2 = await upload_ok(client, me, b"hello", filename="..\\..\\evil\x01\u202e.txt..")
    assert body2["filename"] == "evil.txt"
    async with node.services.db.read() as session:
        keys = (await session.scalars(select(StoredFile.storage_key))).all()
    assert len(keys) == 2
    assert all(STORAGE_KEY.fullmatch(key) for key in keys), keys
    data_dir = node.services.settings.data_dir
    assert sorted(files_on_disk(node)) == sorted(data_dir / key for key in keys)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"", "file"),
        (b"..", "file"),
        (b"/", "file"),
        (b"tab\there\x7f\x00.txt", "tabhere.txt"),
    ],
)
async def test_display_name_is_sanitized(
    client: httpx.AsyncClient, register: RegisterFn, raw: bytes, shown: str
) -> None:
    me = await register()
    body = multipart(("type", "message_attachment", None), ("file", b"x", raw))
    response = await client.post("/files/upload", content=body, headers={**me.headers, **MULTIPART})
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == shown


async def test_decompression_bomb_is_refused(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    bomb = png_bomb(20_000, 20_000)  # 400 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    assert_error(await upload(client, me, bomb, filename="bomb.png"), 422, "image_too_large")
    await assert_nothing_stored(node)


@pytest.mark.parametrize("settings_overrides", [{"max_image_pixels": 10_000}])
async def test_pixel_limit_is_the_configured_one(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    assert_error(await upload(client, me, image_bytes("PNG", (101, 100))), 422, "image_too_large")
    await assert_nothing_stored(node)
    body = await upload_ok(client, me, image_bytes("PNG", (100, 100)))
    assert (body["width"], body["height"]) == (100, 100)


# Size caps ---------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"max_upload_bytes": 4096}])
async def test_over_the_cap_is_413_and_leaves_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    assert (await upload(client, me, b"x" * 4096)).status_code == 201  # exactly the cap
    assert await count_rows(node, "files") == 1
    before = files_on_disk(node)
    assert_error(await upload(client, me, b"x" * 4097), 413, "file_too_large")
    assert await count_rows(node, "files") == 1
    assert files_on_disk(node) == before


@pytest.mark.parametrize("settings_overrides", [{"max_upload_bytes": 4096}])
async def test_streamed_body_is_cut_off_at_the_cap(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        head = multipart(("type", "message_attachment", None), ("file", b"", b"big.bin"))
        yield head[: head.index(b"\r\n\r\n", head.index(b'name="file"')) + 4]
        for _ in range(1000):  # 1 MiB in all, without a Content-Length
            sent += 1
            yield b"y" * 1024

    response = await client.post(
        "/files/upload", content=endless(), headers={**me.headers, **MULTIPART}
    )
    assert_error(response, 413, "file_too_large")
    assert sent < 10  # the server stopped reading just past the cap
    await assert_nothing_stored(node)


@pytest.mark.parametrize(
    "settings_overrides", [{"max_upload_bytes": 4096, "max_avatar_bytes": 2048}]
)
async def test_content_length_over_the_cap_is_refused_unread(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(200):
            sent += 1
            yield b"z" * 1024

    headers = {**me.headers, **MULTIPART, "content-length": str(200 * 1024)}
    response = await client.post("/files/upload", content=body(), headers=headers)
    assert_error(response, 413, "file_too_large")
    assert sent == 0
    await assert_nothing_stored(node)


@pytest.mark.parametrize("settings_overrides", [{"max_avatar_bytes": 2048}])
async def test_avatars_have_their_own_cap_whatever_the_field_order(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    big = noise_png((40, 40))
    assert len(big) > 2048
    assert_error(await upload(client, me, big, filename="me.png", kind="avatar"), 413)
    type_last = multipart(("file", big, b"me.png"), ("type", "avatar", None))
    response = await client.post(
        "/files/upload", content=type_last, headers={**me.headers, **MULTIPART}
    )
    assert_error(response, 413, "file_too_large")
    await assert_nothing_stored(node)
    assert (await upload(client, me, big, filename="me.png")).status_code == 201


# Bad input ---------------------------------------------------------------------------------


async def bad_upload(
    client: httpx.AsyncClient, who: Account, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        "/files/upload", content=body, headers={**who.headers, **(headers or MULTIPART)}
    )


async def test_wrong_type_is_400(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    response = await upload(client, me, b"hello", kind="document")
    assert "type" in assert_error(response, 400, "invalid_enum")["message"]
    await assert_nothing_stored(node)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            multipart(("type", "message_attachment", None)),
            (422, "missing_file"),
            id="missing-file",
        ),
        pytest.param(
            multipart(("file", b"hello", b"a.txt")), (422, "validation_error"), id="missing-type"
        ),
        pytest.param(
            multipart(("type", "message_attachment", None), ("file", b"", b"a.txt")),
            (422, "empty_file"),
            id="empty-file",
        ),
        pytest.param(
            multipart(("type", "avatar\x00", None), ("file", b"hi", b"a.txt")),
            (422, "validation_error"),
            id="nul-in-field",
        ),
        pytest.param(
            multipart(("type", b"\xff\xfe", None), ("file", b"hi", b"a.txt")),
            (422, "validation_error"),
            id="field-not-utf8",
        ),
        pytest.param(
            multipart(("type", "avatar", None), ("file", b"a", b"a"), ("file", b"b", b"b")),
            (422, "too_many_files"),
            id="two-files",
        ),
        pytest.param(
            multipart(("type", "x" * 5000, None), ("file", b"a", b"a")),
            (422, "field_too_long"),
            id="long-field",
        ),
        pytest.param(multipart(*[("f", "v", None)] * 20), (422, "too_many_parts"), id="many-parts"),
        pytest.param(
            multipart(("type", "message_attachment", None), ("file", b"hello", b"a"))[:-30],
            (400, "invalid_multipart"),
            id="truncated",
        ),
        pytest.param(b"not multipart at all", (400, "invalid_multipart"), id="garbage"),
    ],
)
async def test_bad_multipart_bodies_store_nothing(
    client: httpx.AsyncClient,
    node: Node,
    register: RegisterFn,
    body: bytes,
    expected: tuple[int, str | None],
) -> None:
    me = await register()
    assert_error(await bad_upload(client, me, body), *expected)
    await assert_nothing_stored(node)


@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [
        ("application/json", 415, "unsupported_media_type"),
        ("text/plain", 415, "unsupported_media_type"),
        ("multipart/form-data", 400, "invalid_multipart"),
        ("multipart/form-data; boundary=" + "b" * 71, 400, "invalid_multipart"),
    ],
)
async def test_not_a_multipart_request_is_refused(  # noqa: PLR0917
    client: httpx.AsyncClient,
    node: Node,
    register: RegisterFn,
    content_type: str,
    status: int,
    code: str,
) -> None:
    me = await register()
    response = await bad_upload(client, me, b'{"file": "x"}', {"content-type": content_type})
    assert_error(response, status, code)
    await assert_nothing_stored(node)


async def test_avatar_must_be_an_image(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    pdf = b"%PDF-1.4\n%%EOF\n"
    assert_error(
        await upload(client, me, pdf, filename="me.png", kind="avatar"), 422, "not_an_image"
    )
    await assert_nothing_stored(node)
    body = await upload_ok(client, me, image_bytes("PNG"), filename="me.png", kind="avatar")
    assert body["mimeType"] == "image/png"


async def test_upload_needs_a_token_and_reads_nothing_without_one(
    client: httpx.AsyncClient, node: Node
) -> None:
    body = multipart(("type", "message_attachment", None), ("file", b"hello", b"a.txt"))
    assert_error(await client.post("/files/upload", content=body, headers=MULTIPART), 401)
    forged = {"authorization": "Bearer not.a.token", **MULTIPART}
    assert_error(await client.post("/files/upload", content=body, headers=forged), 401)
    await assert_nothing_stored(node)


# Who may download ---------------------------------------------------------------------------


async def test_signed_url_tampered_or_expired_is_404(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    me = await register()
    body = await upload_ok(client, me, b"secret notes", filename="notes.txt")
    file_id = uuid.UUID(body["id"])
    path = body["url"].split("?")[0]
    exp = re.search(r"exp=(\d+)", body["url"])
    sig = re.search(r"sig=([0-9a-f]+)", body["url"])
    assert exp is not None
    assert sig is not None
    assert (await client.get(f"{path}?exp={exp[1]}&sig={sig[1]}")).status_code == 200

    flipped = ("0" if sig[1][0] != "0" else "1") + sig[1][1:]
    assert_error(await client.get(f"{path}?exp={exp[1]}&sig={flipped}"), 404, "file_not_found")
    later = int(exp[1]) + 86_400  # a longer life under the same signature
    assert_error(await client.get(f"{path}?exp={later}&sig={sig[1]}"), 404, "file_not_found")
    other = await upload_ok(client, me, b"other")
    assert_error(  # a signature is for one file only
        await client.get(f"/files/{other['id']}/x?exp={exp[1]}&sig={sig[1]}"), 404
    )
    past = int(time.time()) - 60
    expired_sig = node.services.file_urls._sig(file_id, past)  # correctly signed, expired
    assert_error(await client.get(f"{path}?exp={past}&sig={expired_sig}"), 404, "file_not_found")
    assert_error(await client.get(path), 404, "file_not_found")  # no credentials at all


async def test_bearer_access_is_the_uploader_not_another_user(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    owner, stranger = await register(), await register()
    body = await upload_ok(client, owner, b"private")
    path = body["url"].split("?")[0]
    assert (await client.get(path, headers=owner.headers)).status_code == 200
    assert_error(await client.get(path, headers=stranger.headers), 404, "file_not_found")
    assert_error(await client.get(f"/files/{uuid.uuid4()}/x", headers=owner.headers), 404)
    assert_error(await client.get("/files/not-a-uuid/x", headers=owner.headers), 404)
    forged = {"authorization": "Bearer forged"}
    assert_error(await client.get(path, headers=forged), 401)
    # A valid signed URL is enough on its own, whatever else comes with it.
    assert (await client.get(body["url"], headers=forged)).status_code == 200


async def test_avatar_is_visible_to_any_signed_in_user(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    owner, other = await register(), await register()
    body = await upload_ok(client, owner, image_bytes("PNG"), kind="avatar")
    path = body["url"].split("?")[0]
    assert (await client.get(path, headers=other.headers)).status_code == 200
    assert_error(await client.get(path), 404)


async def test_participants_of_a_conversation_carrying_the_file_may_download(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    sender, member, outsider, former = [await register() for _ in range(4)]
    body = await upload_ok(client, sender, b"shared with the group", filename="plan.txt")
    path = body["url"].split("?")[0]
    file_id = uuid.UUID(body["id"])
    assert_error(await client.get(path, headers=member.headers), 404)  # not carried yet

    async with node.services.db.write() as session:
        conversation = Conversation(type=ConversationType.GROUP, name="g", created_by=sender.id)
        session.add(conversation)
        await session.flush()
        session.add_all(
            [
                Participant(conversation_id=conversation.id, user_id=sender.id, role=Role.OWNER),
                Participant(conversation_id=conversation.id, user_id=member.id),
                Participant(
                    conversation_id=conversation.id,
                    user_id=former.id,
                    status=ParticipantStatus.LEFT,
                ),
            ]
        )
        message = Message(
            conversation_id=conversation.id,
            sender_id=sender.id,
            type=MessageType.FILE,
            seq=1,
            change_seq=1,
        )
        session.add(message)
        await session.flush()
        session.add(MessageFile(message_id=message.id, file_id=file_id))
        message_id = message.id

    response = await client.get(path, headers=member.headers)
    assert response.status_code == 200
    assert response.content == b"shared with the group"
    assert_error(await client.get(path, headers=outsider.headers), 404, "file_not_found")
    assert_error(await client.get(path, headers=former.headers), 404, "file_not_found")

    async with node.services.db.write() as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(status=MessageStatus.DELETED, deleted_at=utcnow(), change_seq=2)
        )
    assert_error(await client.get(path, headers=member.headers), 404, "file_not_found")
    assert (await client.get(path, headers=sender.headers)).status_code == 200


class _FailingDatabase:
    """Stands in for the database when the row cannot be written (an outage, a bug)."""

    def write(self) -> Any:
        raise RuntimeError("the database is gone")


async def test_a_failed_insert_leaves_no_bytes_behind(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = await register()
    monkeypatch.setattr(node.services.files, "_db", _FailingDatabase())
    response = await upload(client, me, image_bytes("PNG"), filename="a.png")
    assert_error(response, 500, "internal_error")
    await assert_nothing_stored(node)


async def test_client_gone_mid_upload_leaves_nothing(node: Node, register: RegisterFn) -> None:
    me = await register()
    head = multipart(("type", "message_attachment", None), ("file", b"", b"half.bin"))
    head = head[: head.index(b"\r\n\r\n", head.index(b'name="file"')) + 4]
    arrivals: list[dict[str, Any]] = [
        {"type": "http.request", "body": head + b"a" * 5000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arrivals.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in {**me.headers, **MULTIPART}.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/files/upload",
        "raw_path": b"/files/upload",
        "root_path": "",
        "query_string": b"",
        "headers": [*headers, (b"host", b"testserver")],
        "client": ("203.0.113.7", 40000),
        "server": ("testserver", 80),
    }
    await node.asgi(scope, receive, send)
    assert sent[0]["status"] == 400
    assert b'"code":"upload_interrupted"' in sent[1]["body"]
    await assert_nothing_stored(node)


def test_stale_temp_files_are_swept_fresh_ones_kept(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.temp_dir().mkdir(parents=True)
    stale, fresh = store.temp_dir() / "old.part", store.temp_dir() / "new.part"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"an upload in flight")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(stale, (two_days_ago, two_days_ago))
    assert store.sweep_temp() == 1
    assert not stale.exists()
    assert fresh.exists()

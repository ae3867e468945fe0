"""Uploaded images are stored and served without their metadata, upright (docs/http-api.md, Files).

A phone's JPEG carries its GPS position, its make and the time in EXIF, and often XMP
and a comment: none of it may reach whoever downloads the file. The orientation EXIF
asked for is applied to the pixels before the EXIF goes.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image, ImageChops, ImageOps, ImageStat

from tests.conftest import RegisterFn
from tests.test_files import upload_ok

XMP = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><GPSLatitude>48,51.48N</GPSLatitude></x:xmpmeta>"
COMMENT = b"taken at home, 12 Rue Example"


def phone_exif(orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.DateTime] = "2026:01:05 10:00:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return exif


def two_halves(size: tuple[int, int] = (64, 32)) -> Image.Image:
    """Red on the left, blue on the right: which way it was turned shows."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def encoded(image: Image.Image, fmt: str, **save: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def assert_no_metadata(data: bytes) -> Image.Image:
    assert b"Exif\x00\x00" not in data
    assert b"PhoneCo" not in data
    assert b"GPSLatitude" not in data
    assert b"adobe:ns:meta" not in data
    assert COMMENT not in data
    image = Image.open(io.BytesIO(data))
    assert dict(image.getexif()) == {}
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment"} & set(image.info)
    return image


async def download(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.content


async def test_a_turned_jpeg_with_gps_is_served_upright_and_without_metadata(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    exif = phone_exif(orientation=6)  # turn 90° clockwise to display
    original = encoded(two_halves(), "JPEG", exif=exif, comment=COMMENT, xmp=XMP)
    assert b"PhoneCo" in original
    assert b"adobe:ns:meta" in original
    body = await upload_ok(client, me, original, filename="photo.jpg")
    served = await download(client, body["url"])
    image = assert_no_metadata(served)
    assert image.size == (32, 64) == (body["width"], body["height"])
    assert body["size"] == len(served)
    # Turned clockwise: the left (red) half is now the top.
    assert image.convert("RGB").getpixel((16, 8)) == pytest.approx((255, 0, 0), abs=8)
    assert image.convert("RGB").getpixel((16, 56)) == pytest.approx((0, 0, 255), abs=8)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(original))).convert("RGB")
    difference = ImageStat.Stat(ImageChops.difference(upright, image.convert("RGB")))
    assert max(difference.mean) < 4  # encoded once more, with the original's own tables
    assert_no_metadata(await download(client, body["thumbnailUrl"]))


async def test_an_upright_jpeg_loses_its_metadata_and_keeps_its_pixels_exactly(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    original = encoded(two_halves(), "JPEG", exif=phone_exif(None), comment=COMMENT, xmp=XMP)
    body = await upload_ok(client, me, original, filename="photo.jpg")
    served = await download(client, body["url"])
    image = assert_no_metadata(served)
    assert len(served) < len(original)
    # Cut from the file, not encoded again: the very same pixels.
    assert ImageChops.difference(Image.open(io.BytesIO(original)), image).getbbox() is None


@pytest.mark.parametrize(
    ("fmt", "save"),
    [
        ("PNG", {"exif": phone_exif(None)}),
        ("WEBP", {"exif": phone_exif(None), "xmp": XMP, "lossless": True}),
        ("GIF", {"comment": COMMENT}),
    ],
)
async def test_other_images_lose_their_metadata_too(
    client: httpx.AsyncClient, register: RegisterFn, fmt: str, save: dict[str, Any]
) -> None:
    me = await register()
    original = encoded(two_halves(), fmt, **save)
    assert b"PhoneCo" in original or COMMENT in original
    body = await upload_ok(client, me, original, filename=f"image.{fmt.lower()}")
    served = await download(client, body["url"])
    image = assert_no_metadata(served)
    before = Image.open(io.BytesIO(original)).convert("RGB")
    assert ImageChops.difference(before, image.convert("RGB")).getbbox() is None


async def test_an_image_without_metadata_is_stored_as_it_came(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    original = encoded(two_halves(), "JPEG")
    body = await upload_ok(client, me, original, filename="plain.jpg")
    assert await download(client, body["url"]) == original


async def test_an_animation_keeps_its_frames_unturned_and_loses_its_metadata(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    me = await register()
    frames = [two_halves(), two_halves().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    original = encoded(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=phone_exif(6)
    )
    body = await upload_ok(client, me, original, filename="moving.webp")
    served = await download(client, body["url"])
    image = assert_no_metadata(served)
    assert (getattr(image, "n_frames", 1), image.size) == (2, (64, 32))
    assert (body["width"], body["height"]) == (64, 32)
    thumb = Image.open(io.BytesIO(await download(client, body["thumbnailUrl"])))
    assert thumb.size == (64, 32)

"""Metadata out of uploaded images: what a photo says about where, when and with what.

`inspect_file` (hubbub.store.filetypes) calls `without_metadata` on every raster image
it recognises, before anything is stored; the bytes it returns are what hubbub stores
and serves (nothing of the original is kept). A leaf module: it imports nothing of
hubbub.

- An image whose EXIF orientation turns or mirrors it (2-8) is first made upright: its
  pixels are turned and it is encoded again (a JPEG with its own quantisation tables
  and subsampling, so it loses as little as a re-encode can; PNG losslessly; WebP
  lossless when it was).
- Then metadata is cut out of the file's structure, without decoding: from a JPEG every
  APPn segment but JFIF (APP0), the ICC colour profile (APP2) and Adobe's colour
  transform (APP14), every comment, and anything after the end of the image (where
  phones keep extra pictures); from a PNG its eXIf, tEXt, zTXt, iTXt and tIME chunks;
  from a WebP its EXIF and XMP chunks (and their flags); from a GIF its comments and
  application blocks but the looping one. Pixels are untouched, byte for byte.
- A file whose structure cannot be walked although Pillow decoded it is encoded again
  from its pixels, without metadata.
- An animation is not turned (its frames stay as they are, and so do its width and
  height); its metadata goes all the same.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps, JpegImagePlugin


def without_metadata(path: Path, fmt: str) -> bytes | None:
    """The image's bytes upright and without metadata; None when they are already so.

    Blocking (run it in a thread), on an image Pillow has verified.
    """
    original = path.read_bytes()
    data = original
    with Image.open(path, formats=[fmt]) as image:
        turned = image.getexif().get(ExifTags.Base.Orientation) in range(2, 9)
        if turned and getattr(image, "n_frames", 1) == 1:
            data = _encode(ImageOps.exif_transpose(image), image, fmt, original)
    try:
        data = _STRIP[fmt](data)
    except (IndexError, ValueError):
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            data = _encode(image, image, fmt, original)
    return None if data == original else data


def _encode(pixels: Image.Image, source: Image.Image, fmt: str, original: bytes) -> bytes:
    options: dict[str, Any] = {"icc_profile": source.info.get("icc_profile")}
    if fmt == "JPEG":
        options["qtables"] = getattr(source, "quantization", None) or None
        options["subsampling"] = JpegImagePlugin.get_sampling(source)
        if options["qtables"] is None:
            options["quality"] = 90
    elif fmt == "WEBP":
        options |= {"lossless": b"VP8L" in original[:4096], "quality": 90}
    elif fmt in ("GIF", "PNG") and getattr(source, "n_frames", 1) > 1:
        options["save_all"] = True
    out = io.BytesIO()
    pixels.save(out, format=fmt, **{k: v for k, v in options.items() if v is not None})
    return _STRIP[fmt](out.getvalue())


# JPEG ----------------------------------------------------------------------------------

_APP0, _APP2, _APP14, _COM, _SOS, _EOI = 0xE0, 0xE2, 0xEE, 0xFE, 0xDA, 0xD9
_KEPT_APP = {_APP0: b"JFIF\x00", _APP2: b"ICC_PROFILE\x00", _APP14: b"Adobe"}


def _jpeg_metadata(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return True
    if 0xE0 <= marker <= 0xEF:
        kept = _KEPT_APP.get(marker)
        return kept is None or not payload.startswith(kept)
    return False


def _entropy_end(data: bytes, i: int) -> int:
    """Where the entropy-coded data from `i` ends: at the next marker that is not a
    stuffed 0xFF00 or a restart marker."""
    while True:
        i = data.index(b"\xff", i)
        follower = data[i + 1]
        if follower == 0x00 or 0xD0 <= follower <= 0xD7:
            i += 2
        elif follower == 0xFF:
            i += 1
        else:
            return i


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])
    i = 2
    while True:
        if data[i] != 0xFF:
            raise ValueError("not a JPEG marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)  # anything after the image is left out
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if end > len(data):
            raise ValueError("a JPEG segment runs past the end")
        if not _jpeg_metadata(marker, data[i + 4 : end]):
            out += data[i:end]
        i = end
        if marker == _SOS:
            scan_end = _entropy_end(data, i)
            out += data[i:scan_end]
            i = scan_end


# PNG, WebP, GIF ------------------------------------------------------------------------

_PNG_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _strip_png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    i = 8
    while True:
        kind = data[i + 4 : i + 8]
        end = i + 12 + int.from_bytes(data[i : i + 4], "big")
        if end > len(data):
            raise ValueError("a PNG chunk runs past the end")
        if kind not in _PNG_METADATA:
            out += data[i:end]
        if kind == b"IEND":
            return bytes(out)
        i = end


_VP8X_EXIF_XMP = 0x08 | 0x04


def _strip_webp(data: bytes) -> bytes:
    chunks = []
    i = 12
    end_of_riff = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    while i < end_of_riff:
        kind = data[i : i + 4]
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        end = i + 8 + size + (size & 1)
        if end > len(data) or size < 0:
            raise ValueError("a WebP chunk runs past the end")
        chunk = data[i:end]
        if kind == b"VP8X":
            chunk = chunk[:8] + bytes([chunk[8] & ~_VP8X_EXIF_XMP & 0xFF]) + chunk[9:]
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        i = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _gif_blocks_end(data: bytes, i: int) -> int:
    while size := data[i]:
        i += 1 + size
    return i + 1


def _color_table(flags: int) -> int:
    return 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0


_GIF_LOOPING = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _strip_gif(data: bytes) -> bytes:
    i = 13 + _color_table(data[10])
    out = bytearray(data[:i])
    while True:
        block = data[i]
        if block == 0x3B:  # trailer
            out.append(0x3B)
            return bytes(out)
        if block == 0x2C:  # an image: descriptor, local colour table, LZW data
            end = _gif_blocks_end(data, i + 10 + _color_table(data[i + 9]) + 1)
            out += data[i:end]
        elif block == 0x21:  # an extension: comments (FE) and application blocks (FF) go
            label = data[i + 1]
            end = _gif_blocks_end(data, i + 2)
            if label not in (0xFE, 0xFF) or data[i + 3 : i + 14] in _GIF_LOOPING:
                out += data[i:end]
        else:
            raise ValueError("not a GIF block")
        i = end


_STRIP: dict[str, Callable[[bytes], bytes]] = {
    "JPEG": _strip_jpeg,
    "PNG": _strip_png,
    "WEBP": _strip_webp,
    "GIF": _strip_gif,
}

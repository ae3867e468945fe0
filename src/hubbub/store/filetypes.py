"""What an uploaded file is, decided from its bytes alone, and its thumbnail (beside the
blob store: the store keeps bytes, this says what they are).

`FileService` (hubbub.actions.files) calls `inspect_file` off the event loop on the
received temp file, before anything is stored. The client's Content-Type and file name
take no part. A raster image (PNG, JPEG, GIF, WebP) is one only when its signature
matches, Pillow verifies it, its canvas is within the pixel budget and a thumbnail can
be decoded from it; its metadata (EXIF with the GPS position, XMP, comments) is taken
out and an EXIF orientation applied to its pixels (`hubbub.store.imagemeta`), and those
clean bytes are what is stored; other types come from a short magic-number table; valid UTF-8
without NULs is text/plain (which is also what HTML and SVG are here: never markup);
everything else is application/octet-stream.
"""

from __future__ import annotations

import codecs
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from hubbub.store.imagemeta import without_metadata

log = logging.getLogger("hubbub.files")

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
THUMBNAIL_TYPE = "image/webp"
THUMBNAIL_MAX_PX = 320

# Pillow format name -> MIME type, for the only image types served inline.
_RASTER = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
INLINE_IMAGE_TYPES = frozenset(_RASTER.values())

# (offset, signature, type) of common documents and media.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),  # an empty archive
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (8, b"WAVE", "audio/wav"),  # after "RIFF" + size
    (8, b"AVI ", "video/x-msvideo"),
    (4, b"ftypM4A ", "audio/mp4"),
    (4, b"ftypqt  ", "video/quicktime"),
    (4, b"ftyp", "video/mp4"),  # any other ISO media brand
)
# MPEG audio frame headers (MPEG-1/2 layer III, with or without CRC) of an MP3 without ID3.
_MP3_FRAME = (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3", b"\xff\xe2")
_EBML = b"\x1a\x45\xdf\xa3"  # Matroska and WebM
_HEAD_BYTES = 64
# Every type a stored file can have (a download's Content-Type, as the OpenAPI document says).
STORED_TYPES = tuple(
    sorted(
        {*INLINE_IMAGE_TYPES, *(kind for _, _, kind in _MAGIC)}
        | {"video/webm", "video/x-matroska", "audio/mpeg", TEXT_PLAIN, OCTET_STREAM}
    )
)


class ImageTooLarge(Exception):
    """The image's canvas has more pixels than allowed (a decompression bomb, or just huge)."""


class ImageNotCleanable(Exception):
    """A verified image whose metadata could not be taken out: it is not stored."""


@dataclass(frozen=True)
class Inspection:
    mime_type: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    # The bytes to store instead of the upload's: upright, without metadata (None: the
    # upload's own bytes already are).
    clean: bytes | None = None

    @property
    def is_image(self) -> bool:
        return self.mime_type in INLINE_IMAGE_TYPES


def inspect_file(path: Path, *, max_pixels: int) -> Inspection:
    """Sniff `path` (blocking: run it in a thread). Raises ImageTooLarge."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    raster = _raster_format(head)
    if raster is not None:
        image = _inspect_image(path, raster, max_pixels)
        if image is not None:
            return image
    return Inspection(_magic_type(head) or (TEXT_PLAIN if _is_utf8_text(path) else OCTET_STREAM))


def _raster_format(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _magic_type(head: bytes) -> str | None:
    for offset, signature, mime_type in _MAGIC:
        if head[offset : offset + len(signature)] == signature:
            if offset == 8 and not head.startswith(b"RIFF"):
                continue
            return mime_type
    if head.startswith(_EBML):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    if head.startswith(_MP3_FRAME):
        return "audio/mpeg"
    return None


def _is_utf8_text(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            if b"\x00" in chunk:
                return False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)  # a file may not end inside a character
    except UnicodeDecodeError:
        return False
    return True


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    if size[0] * size[1] > max_pixels:
        raise ImageTooLarge(f"{size[0]}x{size[1]}")


def _inspect_image(path: Path, fmt: str, max_pixels: int) -> Inspection | None:
    # The limit is checked on the header's declared size, before any pixel is decoded.
    # Pillow's own global guard (Image.MAX_IMAGE_PIXELS, left as it is) may fire first
    # inside Image.open for larger canvases; it means the same thing.
    try:
        with Image.open(path, formats=[fmt]) as image:
            _check_pixels(image.size, max_pixels)
            image.verify()
        # verify() leaves the image unusable: open it again to decode the thumbnail.
        with Image.open(path, formats=[fmt]) as image:
            _check_pixels(image.size, max_pixels)
            width, height = _displayed_size(image)
            thumbnail = _thumbnail(image)
    except ImageTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception only where warnings are errors (tests).
        raise ImageTooLarge(str(exc)) from exc
    except Exception:
        # Pillow reports malformed input with many exception types (OSError, SyntaxError,
        # struct.error, ValueError, even MemoryError): each means "not an image we serve
        # as one", and the bytes are then typed like any other file.
        log.debug("not a usable %s image", fmt, exc_info=True)
        return None
    try:
        clean = without_metadata(path, fmt)
    except Exception as exc:
        log.warning("could not take the metadata out of a %s image", fmt, exc_info=True)
        raise ImageNotCleanable(fmt) from exc
    return Inspection(_RASTER[fmt], width, height, thumbnail, clean)


def _displayed_size(image: Image.Image) -> tuple[int, int]:
    """The size a viewer shows: EXIF orientations 5-8 turn the image a quarter."""
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    width, height = image.size
    if _animated(image):  # stored unturned (`without_metadata`): shown as it is
        return width, height
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _animated(image: Image.Image) -> bool:
    return getattr(image, "n_frames", 1) > 1


def _thumbnail(image: Image.Image) -> bytes:
    """At most THUMBNAIL_MAX_PX on each side, upright, as WebP (the first frame of an animation)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    work = image
    if work.mode not in ("RGB", "RGBA", "L", "LA"):
        # Palette and exotic modes would be resized by nearest neighbour: convert first.
        work = work.convert("RGBA" if has_alpha else "RGB")
    # Shrinks in place (JPEG even decodes at a reduced scale), so the full-size image is
    # never copied; only the small one is turned upright and converted.
    work.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX))
    upright = work if _animated(image) else ImageOps.exif_transpose(work)
    small = upright.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    small.save(out, format="WEBP", quality=80)
    return out.getvalue()

"""The field types and base models every wire model is made of.

Inputs (`InputModel`) forbid unknown fields and use strict scalar types, so `"5"` is not
a number and `123` is not a string; text may not hold NUL characters or unpaired
surrogates. Outputs (`WireModel`) serialise with camelCase names and ISO 8601 UTC times
with milliseconds and `Z`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    GetJsonSchemaHandler,
    PlainSerializer,
    StrictStr,
    StringConstraints,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates") from None
    return value


def iso_utc(value: datetime) -> str:
    """`2026-01-02T03:04:05.678Z`: UTC, milliseconds (cut, not rounded), `Z`.

    Through orjson's C formatter: `isoformat` and its `replace` cost 3.4× as much, and a
    history page formats ~150 times (8 % of its CPU that way)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = orjson.dumps(value, option=orjson.OPT_UTC_Z)  # b'"...SS[.ffffff]Z"'
    if len(text) == 22:  # no fraction: orjson leaves out a zero one
        return text[1:20].decode() + ".000Z"
    return text[1:24].decode() + "Z"


class Documented:
    """Adds to a field's JSON schema (and so to /openapi.json) what its validators check
    but pydantic cannot show, e.g. `pattern`; last in an Annotated, it has the last word."""

    def __init__(self, **keywords: object) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


# What the validators below refuse, as JSON Schema patterns (ECMA-262 and Python alike).
# Every text also refuses a lone surrogate (a JSON string can hold one as an escape),
# which no portable pattern can name. No NUL:
CLEAN_TEXT = r"^[^\x00]*$"
# `one_line_name`: no Cc, Cf, Cs, Zl or Zp character of the Basic Multilingual Plane
# (those beyond it are refused too, but a portable pattern cannot name them), and at
# least one character that is not white space.
_NOT_IN_NAME = (
    r"\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    r"\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
ONE_LINE_NAME = rf"^[^{_NOT_IN_NAME}]*[^{_NOT_IN_NAME}\s][^{_NOT_IN_NAME}]*$"
# `shown_text`: lines and tabs, but no other control character, no bidi control.
SHOWN_TEXT = (
    r"^(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
    r"|\r\n)*$"
)
# `emoji_text`: no control character, no '/', no white space around it.
_NOT_IN_EMOJI = r"\x00-\x1f\x7f-\x9f/"
EMOJI_TEXT = rf"^[^{_NOT_IN_EMOJI}\s](?:[^{_NOT_IN_EMOJI}]*[^{_NOT_IN_EMOJI}\s])?$"

CleanStr = Annotated[StrictStr, AfterValidator(_clean_text), Documented(pattern=CLEAN_TEXT)]


def trimmed(min_length: int, max_length: int) -> AfterValidator:
    """Strip surrounding white space, then require min..max characters."""

    def check(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:
            raise ValueError(f"must have at least {min_length} non-blank character(s)")
        if len(value) > max_length:
            raise ValueError(f"must have at most {max_length} characters")
        return value

    return AfterValidator(check)


# Human-visible text ----------------------------------------------------------------
#
# A name is one line a reader trusts to say who or what something is (display names,
# conversation and space names): normalised to NFC, trimmed, and refused (422) when it
# holds a control character (Cc: newline, tab, ESC...), a format character (Cf: the
# bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners, the
# word joiner, BOM, soft hyphen...), a line or paragraph separator or a lone surrogate.
# Longer text shown as a profile or a description (bio, descriptions) may have lines
# and tabs, but no other control character and no bidi embedding, override or isolate.
# Message content is left as written (a message is always shown under its sender).
_NAME_REFUSED = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused_char(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def one_line_name(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    bad = next((ch for ch in value if unicodedata.category(ch) in _NAME_REFUSED), None)
    if bad is not None:
        raise ValueError(
            f"must not contain control, format or invisible characters ({_refused_char(bad)})"
        )
    return value


def shown_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    for ch in value:
        category = unicodedata.category(ch)
        if (category == "Cc" and ch not in "\n\t") or category in ("Zl", "Zp", "Cs"):
            raise ValueError(f"must not contain control characters ({_refused_char(ch)})")
        if ch in _BIDI_CONTROLS:
            raise ValueError(
                f"must not contain bidi embedding, override or isolate characters "
                f"({_refused_char(ch)})"
            )
    return value


_FILE_REFERENCE = re.compile(r"/files/([0-9a-fA-F-]{32,36})(?:/[^?#]*)?(?:\?[^#]*)?")


def file_reference(value: object) -> object:
    """A file named by its id, or by the URL its upload (or a read) gave; blank is None."""
    if not isinstance(value, str):
        return value  # the UUID type refuses it
    text = value.strip()
    if not text:
        return None
    found = _FILE_REFERENCE.fullmatch(text)
    try:
        return uuid.UUID(found.group(1) if found else text)
    except ValueError:
        raise ValueError(
            "must be the id, or the /files/… URL, of an image uploaded with type=avatar"
        ) from None


Timestamp = Annotated[datetime, PlainSerializer(iso_utc, return_type=str, when_used="json")]


def _exists_in_utc(value: datetime) -> datetime:
    """A time with a zone must exist in UTC too (0001-01-01T00:00+14:00 does not)."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range in UTC") from None
    return value


# Times given by clients; AwareInputTime also requires a zone.
InputTime = Annotated[datetime, AfterValidator(_exists_in_utc)]
AwareInputTime = Annotated[AwareDatetime, AfterValidator(_exists_in_utc)]

Username = Annotated[
    CleanStr,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$"),
    Documented(pattern=r"^[A-Za-z0-9_.-]+$"),
]
# An address the email validator accepts: at most 254 characters (RFC 5321 with its
# path) and not at a special-use domain (RFC 6761: .test, .invalid, .localhost, ...).
_SPECIAL_USE = "|".join(
    "".join(f"[{ch}{ch.upper()}]" for ch in name)
    for name in ("arpa", "invalid", "local", "localhost", "onion", "test")
)
EmailAddress = Annotated[
    EmailStr,
    StringConstraints(max_length=254),
    Documented(pattern=rf"^[^@]+@(?!(?:[^@]*\.)?(?:{_SPECIAL_USE})\.?$)[^@]+$"),
]
Password = Annotated[CleanStr, StringConstraints(min_length=8, max_length=128)]
DisplayName = Annotated[
    CleanStr,
    AfterValidator(one_line_name),
    trimmed(1, 100),
    Documented(pattern=ONE_LINE_NAME, minLength=1, maxLength=100),
]
# An avatar: the id of a file the user uploaded with type=avatar (checked by the action).
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
FileReference = Annotated[
    uuid.UUID | None,
    BeforeValidator(file_reference),
    Documented(
        anyOf=[
            {"type": "string", "format": "uuid"},
            {"type": "string", "pattern": rf"^\s*/files/{_UUID}(?:/[^?#]*)?(?:\?[^#]*)?$"},
            {"type": "string", "pattern": r"^\s*$", "description": "blank: none"},
            {"type": "null"},
        ]
    ),
]
Bio = Annotated[
    CleanStr,
    StringConstraints(max_length=1000),
    AfterValidator(shown_text),
    Documented(pattern=SHOWN_TEXT),
]

Name = Annotated[
    CleanStr,
    AfterValidator(one_line_name),
    trimmed(1, 100),
    Documented(pattern=ONE_LINE_NAME, minLength=1, maxLength=100),
]
Description = Annotated[
    CleanStr,
    StringConstraints(max_length=1000),
    AfterValidator(shown_text),
    Documented(pattern=SHOWN_TEXT),
]


def when_type(value: str, needs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema: a body whose `type` is `value` has each of `needs`, not null, and
    matching its schema there (a rule the action checks, shown in the document)."""
    return {
        "if": {"properties": {"type": {"const": value}}},
        "then": {
            "required": sorted(needs),
            "properties": {
                name: {"not": {"type": "null"}, **schema} for name, schema in needs.items()
            },
        },
    }


def not_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` of a model whose optional `names` may be left out, not null."""

    def drop_null(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            kept = [option for option in field.pop("anyOf") if option != {"type": "null"}]
            field.update(kept[0])

    return drop_null


# SendMessage, in JSON Schema: not SYSTEM (the server's), and text unless files.
SEND_RULES: dict[str, Any] = {
    "allOf": [
        {"properties": {"type": {"not": {"const": "SYSTEM"}}}},
        {
            "if": {"properties": {"attachments": {"maxItems": 0}}},
            "then": {"required": ["content"], "properties": {"content": {"pattern": r"\S"}}},
        },
    ]
}


class InputModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict, as sent over Socket.IO."""
        return self.model_dump(mode="json", by_alias=True)


MAX_METADATA_BYTES = 4096


def json_metadata(value: dict[str, Any]) -> dict[str, Any]:
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        raise ValueError("must be a JSON object of plain values") from None
    if orjson.loads(encoded) != value:
        # NaN and ±Infinity (which the JSON parser lets through) came out as null.
        raise ValueError("must hold only finite numbers")
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    if b"\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    return value


def emoji_text(value: str) -> str:
    if not value or value != value.strip():
        raise ValueError("must be a non-blank emoji without surrounding spaces")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise ValueError("must not contain control characters")
    if "/" in value or value in (".", ".."):
        # DELETE …/reactions/:emoji must be able to name it as one path segment.
        raise ValueError("must be usable in a URL path (no '/', not '.' or '..')")
    return value


Emoji = Annotated[
    CleanStr,
    StringConstraints(max_length=32),
    AfterValidator(emoji_text),
    Documented(pattern=EMOJI_TEXT),
]


# A message's metadata: JSON without NUL characters (PostgreSQL cannot store them), at
# most MAX_METADATA_BYTES. Its values are described once, by name, in the documents
# that carry it (/openapi.json, /asyncapi.json): JSON Schema of a value of any depth.
_METADATA_VALUE = {"$ref": "#/components/schemas/MetadataValue"}
SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    "MetadataValue": {
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "number"},
            {"type": "string", "pattern": CLEAN_TEXT},
            {"type": "array", "items": _METADATA_VALUE},
            {
                "type": "object",
                "propertyNames": {"pattern": CLEAN_TEXT},
                "additionalProperties": _METADATA_VALUE,
            },
        ]
    }
}
Metadata = Annotated[
    dict[str, Any],
    AfterValidator(json_metadata),
    Documented(propertyNames={"pattern": CLEAN_TEXT}, additionalProperties=_METADATA_VALUE),
]


# A message's text: at most MAX_CONTENT characters once the white space around it is
# taken off (which may be up to 1000 more).
MAX_CONTENT = 10_000
MessageText = Annotated[
    CleanStr,
    StringConstraints(max_length=MAX_CONTENT + 1000),
    Documented(pattern=rf"^\s*(?:[^\x00\s](?:[^\x00]{{0,{MAX_CONTENT - 2}}}[^\x00\s])?)?\s*$"),
]

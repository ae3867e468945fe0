"""Query parameters of the HTTP API: only what /openapi.json says they are.

A query string is text, and pydantic's lax parsing would read more into it than the
OpenAPI document allows: `before=0.5` as a Unix time, `limit=5.0` or `5_0` as a
number, `archived=yes` as true. These types take only what the document says.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

from hubbub.wire.fields import AwareInputTime

_QUERY_INT = re.compile(r"-?[0-9]{1,19}")
_QUERY_BOOL = {"true": True, "false": False, "1": True, "0": False}
_QUERY_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.IGNORECASE,
)


def _query_int(value: object) -> object:
    if isinstance(value, str) and not _QUERY_INT.fullmatch(value):
        raise ValueError("must be a whole number written in digits")
    return value


def _query_bool(value: object) -> object:
    if isinstance(value, str):
        if value not in _QUERY_BOOL:
            raise ValueError("must be true or false")
        return _QUERY_BOOL[value]
    return value


def _query_time(value: object) -> object:
    if isinstance(value, str) and not _QUERY_TIME.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with its offset, e.g. 2026-01-05T10:00:00Z")
    return value


# Last in a parameter's Annotated (after FastAPI's Query), or the schema loses its bounds.
WholeNumber = BeforeValidator(_query_int)
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
QueryTime = Annotated[AwareInputTime, BeforeValidator(_query_time)]


def _text_time(value: object) -> object:
    # JSON has no time type: the schema says RFC 3339 text, and pydantic alone would also
    # take a number (or a text of digits) as seconds since 1970.
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time with its offset, e.g. 2026-01-05T10:00:00Z")
    return _query_time(value)


# A time in a JSON body: RFC 3339 text with its offset, nothing else.
BodyTime = Annotated[AwareInputTime, BeforeValidator(_text_time)]

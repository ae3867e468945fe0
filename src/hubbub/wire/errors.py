"""The one error body every HTTP error has (docs/http-api.md, Errors), with an example
per status: what the OpenAPI document (`hubbub.edge.http.openapi`) shows for each error
an operation can answer with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hubbub.domain.errors import status_phrase

# One example per status the API answers with; `code` is the machine-readable part.
_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("invalid_cursor", "Cursor is not one this list gave"),
    401: ("missing_token", "Missing bearer token"),
    403: ("forbidden", "You do not have permission to do this"),
    404: ("conversation_not_found", "Conversation not found"),
    409: ("email_taken", "Email already registered"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Content-Type must be application/json"),
    422: ("validation_error", "limit: Input should be less than or equal to 100"),
    429: ("rate_limited", "Too many reactions; try again later"),
    503: ("unavailable", "Service temporarily unavailable"),
}


def error_example(status: int) -> dict[str, Any]:
    """The example body of an error with this status."""
    code, message = _EXAMPLES[status]
    return {"statusCode": status, "error": status_phrase(status), "message": message, "code": code}


class ErrorBody(BaseModel):
    """The one error shape: `statusCode` repeats the HTTP status, `error` is its phrase,
    `message` is for people and `code` for programs."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"examples": [error_example(404), error_example(422)]},
    )

    status_code: int = Field(alias="statusCode", ge=400, le=599)
    error: str
    message: str
    code: str


ERROR_STATUSES = frozenset(_EXAMPLES)

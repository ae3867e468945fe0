"""Errors that services raise and both edges translate.

A `HubbubError` carries a machine-readable `code`, a human `message` and the HTTP
status the HTTP edge answers with; the Socket.IO edge sends `{code, message}` (and
ignores the status). Nothing in an error ever holds internals or another user's data.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class HubbubError(Exception):
    status: int = 400
    code: str = "bad_request"
    message: str = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.headers = headers or {}
        # Extra fields for the wire (e.g. `retryAfter` of a rate limit).
        self.extra = extra or {}
        super().__init__(self.message)

    @property
    def reason(self) -> str:
        return HTTPStatus(self.status).phrase

    def body(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "error": self.reason,
            "message": self.message,
            "code": self.code,
        }


class BadRequest(HubbubError):
    status = 400


class Unauthorized(HubbubError):
    status = 401
    code = "unauthorized"
    message = "Authentication required"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Invalid email/username or password"


class Forbidden(HubbubError):
    status = 403
    code = "forbidden"
    message = "You do not have permission to do this"


class NotFound(HubbubError):
    status = 404
    code = "not_found"
    message = "Not found"


class Conflict(HubbubError):
    status = 409
    code = "conflict"
    message = "Conflict"


class PayloadTooLarge(HubbubError):
    status = 413
    code = "payload_too_large"
    message = "Request body too large"


class UnsupportedMediaType(HubbubError):
    status = 415
    code = "unsupported_media_type"
    message = "Unsupported Content-Type"


class ValidationFailed(HubbubError):
    status = 422
    code = "validation_error"
    message = "Invalid input"


class RateLimited(HubbubError):
    status = 429
    code = "rate_limited"
    message = "Too many requests"

    def __init__(self, retry_after_s: float, message: str | None = None) -> None:
        seconds = max(1, int(retry_after_s + 0.999))
        super().__init__(
            message, headers={"Retry-After": str(seconds)}, extra={"retryAfter": seconds}
        )
        self.retry_after = seconds


class Unavailable(HubbubError):
    status = 503
    code = "unavailable"
    message = "Service temporarily unavailable"


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

"""The server's log lines: text for a person at a terminal, or one JSON object a line.

`HUBBUB_LOG_FORMAT=json` makes every line (hubbub's, uvicorn's, the socket libraries')
an object with `ts`, `level`, `logger` and `message`, plus what is known of the work
under way: `request_id`, `user_id`, `socket_id`, `event`, `conversation_id`. Those
come from context variables set by the HTTP middleware (`hubbub.edge.http.observe`),
the bearer check and the socket dispatch; a task started meanwhile inherits them.
Secret query parameters are redacted from every line, whatever its format
(`hubbub.security.redact` does the same for uvicorn's request lines).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id: ContextVar[str | None] = ContextVar("hubbub_request_id", default=None)
user_id: ContextVar[str | None] = ContextVar("hubbub_user_id", default=None)
socket_id: ContextVar[str | None] = ContextVar("hubbub_socket_id", default=None)
event: ContextVar[str | None] = ContextVar("hubbub_event", default=None)
conversation_id: ContextVar[str | None] = ContextVar("hubbub_conversation_id", default=None)

CONTEXT: tuple[tuple[str, ContextVar[str | None]], ...] = (
    ("request_id", request_id),
    ("user_id", user_id),
    ("socket_id", socket_id),
    ("event", event),
    ("conversation_id", conversation_id),
)


def socket_context(sid: str, data: object) -> None:
    """Set the socket, event and conversation (when the payload names one) of the
    socket event `data` (`[name, payload, ...]`) for the rest of the current task."""
    socket_id.set(sid)
    if isinstance(data, list) and data and isinstance(data[0], str):
        event.set(data[0][:64])
        payload = data[1] if len(data) > 1 else None
        conversation = payload.get("conversationId") if isinstance(payload, dict) else None
        if isinstance(conversation, str) and len(conversation) <= 64:
            conversation_id.set(conversation)


# Attributes every LogRecord has: anything else on a record came from `extra=` and is
# written as a field of its own.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in CONTEXT:
            value = var.get()
            if value is not None:
                line[name] = value
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The usual text line, with the request or socket it belongs to when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        tags = [f"{name}={value}" for name, var in CONTEXT if (value := var.get()) is not None]
        return f"{text} [{' '.join(tags)}]" if tags else text


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(log_format: str, level: str, *filters: logging.Filter) -> None:
    """The root logger's one handler (stderr), in `log_format`, through `filters`."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    for f in filters:
        handler.addFilter(f)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())

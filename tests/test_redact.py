"""Secret query parameters never reach a log line (README, Security: Sockets)."""

from __future__ import annotations

import logging

import pytest

from hubbub.security.redact import RedactSecrets, redact_query


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            "/socket.io/?EIO=4&transport=websocket&token=eyJhbGc.x.y",
            "/socket.io/?EIO=4&transport=websocket&token=[redacted]",
        ),
        ("/files/f?exp=17&sig=abcdef", "/files/f?exp=17&sig=[redacted]"),
        (
            "/socket.io/?EIO=4&sid=Zx1&transport=polling",
            "/socket.io/?EIO=4&sid=[redacted]&transport=polling",
        ),
        ("/x?accessToken=a&Refresh-Token=b", "/x?accessToken=[redacted]&Refresh-Token=[redacted]"),
        ("/x?access%5Ftoken=a", "/x?access%5Ftoken=[redacted]"),
        ("/x?tokens=1&page=2", "/x?tokens=1&page=2"),
        ("/plain/path", "/plain/path"),
    ],
)
def test_secret_parameters_are_redacted(line: str, shown: str) -> None:
    assert redact_query(line) == shown


def test_the_filter_redacts_a_request_lines_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/socket.io/?EIO=4&token=s3cret"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert "s3cret" not in record.getMessage()
    assert record.getMessage().endswith('"WebSocket /socket.io/?EIO=4&token=[redacted]" [accepted]')

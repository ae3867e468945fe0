"""Outgoing webhook signatures: what the server signs (`hubbub.security.webhooks`) the
SDK's receiver (`hubbub.client.webhooks.verify`) accepts, and nothing else: a changed
body, another secret, an old or future timestamp, or a header without its parts."""

from __future__ import annotations

import pytest

from hubbub.client.webhooks import TOLERANCE_S, InvalidSignature, verify
from hubbub.security.webhooks import new_secret, signature_header

BODY = b'{"id":"e1","type":"new_message"}'
NOW = 1_800_000_000


def test_a_signature_made_by_the_server_verifies() -> None:
    secret = new_secret()
    verify(secret, BODY, signature_header(secret, NOW, BODY), now=NOW)
    # Within the tolerance either way, and with a second v1 (a rotated secret's) beside.
    verify(secret, BODY, signature_header(secret, NOW - TOLERANCE_S, BODY), now=NOW)
    verify(secret, BODY, signature_header(secret, NOW + TOLERANCE_S, BODY), now=NOW)
    other = signature_header(new_secret(), NOW, BODY).split(",")[1]
    verify(secret, BODY, f"{signature_header(secret, NOW, BODY)},{other}", now=NOW)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("changed body", "does not match"),
        ("other secret", "does not match"),
        ("timestamp changed", "does not match"),
        ("too old", "too old"),
        ("from the future", "too old"),
        ("no timestamp", "no timestamp"),
        ("timestamp not a number", "no timestamp"),
        ("no v1", "does not match"),
        ("empty", "no timestamp"),
    ],
)
def test_anything_else_is_refused(case: str, message: str) -> None:
    secret = new_secret()
    good = signature_header(secret, NOW, BODY)
    digest = good.split(",v1=")[1]
    body, header = BODY, good
    if case == "changed body":
        body = BODY.replace(b"e1", b"e2")
    elif case == "other secret":
        header = signature_header(new_secret(), NOW, BODY)
    elif case == "timestamp changed":
        header = f"t={NOW + 1},v1={digest}"
    elif case == "too old":
        header = signature_header(secret, NOW - TOLERANCE_S - 1, BODY)
    elif case == "from the future":
        header = signature_header(secret, NOW + TOLERANCE_S + 1, BODY)
    elif case == "no timestamp":
        header = f"v1={digest}"
    elif case == "timestamp not a number":
        header = f"t=soon,v1={digest}"
    elif case == "no v1":
        header = f"t={NOW}"
    elif case == "empty":
        header = ""
    with pytest.raises(InvalidSignature, match=message):
        verify(secret, body, header, now=NOW)

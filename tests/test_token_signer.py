"""The access-token signer: a token verified once is recognised again by its exact
string, its expiry is checked on every use, and what it keeps is bounded."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import jwt
import pytest

from hubbub.security import tokens
from hubbub.security.tokens import AccessClaims, InvalidToken, TokenSigner

SECRET = "s" * 64


def whole_seconds(claims: AccessClaims) -> AccessClaims:
    """`claims` as a token carries them: `exp` is in whole seconds."""
    return replace(claims, expires_at=claims.expires_at.replace(microsecond=0))


class Clock:
    """The real time, moved by `offset` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_a_kept_token_gives_the_same_claims_as_its_first_verification() -> None:
    signer = TokenSigner(SECRET, access_ttl_s=60)
    user, session = uuid.uuid4(), uuid.uuid4()
    token, issued = signer.issue_access(user, session)
    first = signer.verify_access(token)
    again = signer.verify_access(token)
    assert first == again == whole_seconds(issued)
    assert again.user_id == user
    assert again.session_id == session


def test_a_kept_token_is_refused_once_it_has_expired() -> None:
    clock = Clock()
    signer = TokenSigner(SECRET, access_ttl_s=60, clock=clock)
    token, _ = signer.issue_access(uuid.uuid4(), uuid.uuid4())
    signer.verify_access(token)
    clock.offset = 61
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify_access(token)
    # Dropped, not only refused: back at the real time it is verified in full again.
    clock.offset = 0
    assert signer.verify_access(token).expires_at.timestamp() > clock()


def test_a_token_changed_by_one_character_is_not_taken_for_the_kept_one() -> None:
    signer = TokenSigner(SECRET, access_ttl_s=60)
    token, _ = signer.issue_access(uuid.uuid4(), uuid.uuid4())
    signer.verify_access(token)
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken):
        signer.verify_access(f"{head}.{payload}.{flipped}")
    forged = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), "x" * 64, algorithm="HS256"
    )
    with pytest.raises(InvalidToken):
        signer.verify_access(forged)


def test_refused_tokens_are_not_kept_and_the_kept_ones_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_KEPT", 3)
    signer = TokenSigner(SECRET, access_ttl_s=60)
    other = TokenSigner("o" * 64, access_ttl_s=60)
    for _ in range(5):
        foreign, _ = other.issue_access(uuid.uuid4(), uuid.uuid4())
        with pytest.raises(InvalidToken):
            signer.verify_access(foreign)
    assert signer.kept() == 0
    issued = [signer.issue_access(uuid.uuid4(), uuid.uuid4()) for _ in range(5)]
    for token, claims in issued:
        assert signer.verify_access(token) == whole_seconds(claims)
    assert signer.kept() == 3
    # The oldest were dropped first and still verify in full.
    assert signer.verify_access(issued[0][0]) == whole_seconds(issued[0][1])
    assert signer.kept() == 3

"""Access tokens (signed JWTs) and refresh tokens (opaque random strings).

An access token is verified in full the first time it is seen: signature with the
pinned algorithm, `exp`, `iat`, `iss`, `aud`, and the presence of `sub`, `jti` and
`sid`. Its claims are then kept, keyed by the whole token, for the next requests that
bring the same token, and its `exp` is checked again on each of them: decoding and
checking the signature was 8 % of a history page's server CPU (docs/performance.md,
"Eleventh round"). Only a token that passed is kept, and only an identical string
finds it. Revocation (by `jti` or by session `sid`) is checked by the auth service
against the database on every use, cached or not.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "hubbub"
AUDIENCE = "hubbub"
# Tokens whose claims are kept (oldest dropped first): a token and its claims take
# about 0.95 KiB (traced), so at most ~4 MiB; a client sends the same token for its
# whole lifetime.
VERIFIED_KEPT = 4096


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    jti: str
    session_id: uuid.UUID
    expires_at: datetime


class TokenSigner:
    def __init__(
        self, secret: str, *, access_ttl_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self.access_ttl = timedelta(seconds=access_ttl_s)
        self._clock = clock
        # token -> (its claims, its `exp` as a Unix time)
        self._verified: dict[str, tuple[AccessClaims, int]] = {}

    def issue_access(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, now: datetime | None = None
    ) -> tuple[str, AccessClaims]:
        issued = now or datetime.now(UTC)
        claims = AccessClaims(
            user_id=user_id,
            jti=secrets.token_hex(16),
            session_id=session_id,
            expires_at=issued + self.access_ttl,
        )
        payload = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": claims.jti,
            "iat": int(issued.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "iss": ISSUER,
            "aud": AUDIENCE,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def verify_access(self, token: str) -> AccessClaims:
        kept = self._verified.get(token)
        if kept is None:
            return self._verify(token)
        claims, expires = kept
        # As PyJWT's own check (no leeway): expired from the second `exp` names.
        if expires <= self._clock():
            del self._verified[token]
            raise InvalidToken("Signature has expired")
        return claims

    def kept(self) -> int:
        """How many verified tokens are kept."""
        return len(self._verified)

    def _verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "sid", "iss", "aud"]},
            )
            expires = int(payload["exp"])
            claims = AccessClaims(
                user_id=uuid.UUID(str(payload["sub"])),
                jti=str(payload["jti"]),
                session_id=uuid.UUID(str(payload["sid"])),
                expires_at=datetime.fromtimestamp(expires, UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc)) from exc
        while len(self._verified) >= VERIFIED_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (claims, expires)
        return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# API tokens and webhook secrets: random, recognisable by their prefix (a secret scanner
# can find one pasted where it should not be), stored as `hash_refresh_token` of them.
API_TOKEN_PREFIX = "hbt_"  # noqa: S105 (a prefix, not a secret)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(24)

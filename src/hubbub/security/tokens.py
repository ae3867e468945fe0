"""Access tokens (signed JWTs) and refresh tokens (opaque random strings).

Every access token is verified in full on every use: signature with the pinned
algorithm, `exp`, `iat`, `iss`, `aud`, and the presence of `sub`, `jti` and `sid`.
Nothing is cached by any part of a token. Revocation (by `jti` or by session `sid`)
is checked by the auth service against the database.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "hubbub"
AUDIENCE = "hubbub"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    jti: str
    session_id: uuid.UUID
    expires_at: datetime


class TokenSigner:
    def __init__(self, secret: str, *, access_ttl_s: int) -> None:
        self._secret = secret
        self.access_ttl = timedelta(seconds=access_ttl_s)

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
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "sid", "iss", "aud"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(str(payload["sub"])),
                jti=str(payload["jti"]),
                session_id=uuid.UUID(str(payload["sid"])),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc)) from exc


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

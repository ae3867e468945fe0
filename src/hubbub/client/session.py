"""The HTTP side of a client: the server's address(es), the tokens, and every request.

A request carries the current access token. The token is refreshed (a new pair from
`POST /auth/refresh`, the refresh token being single use) ahead of its expiry by a
background task, and once on a 401: the request is then repeated once with the new
token. One refresh runs at a time; a request that was refused with a token already
replaced is repeated without refreshing again. A 429 is waited out (its `Retry-After`)
and repeated a few times. A connection refused by one address is tried on the next; a
request whose kept-alive connection the server closed as it was reused is sent once more.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from hubbub.wire.errors import ErrorBody
from hubbub.wire.models import AuthResult, Me, TokenPair

M = TypeVar("M", bound=BaseModel)

# Refresh this long before expiry, or at three quarters of a short token's lifetime.
REFRESH_AHEAD_S = 60.0
RATE_LIMIT_RETRIES = 5
MAX_RETRY_WAIT_S = 10.0


class HubbubError(Exception):
    """An error answered by the server (docs/http-api.md, Errors), or a refusal in a
    socket ack (docs/socket-protocol.md), whose `status` is then 0."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class CommandSent(HubbubError):
    """A send whose text was a slash command registered in the conversation: nothing
    was posted, the command went to its account (`command`: name, args, eventId).
    `run_command` is the method for commands; `send` raises this when text was one."""

    def __init__(self, command: dict[str, Any]):
        super().__init__(0, "command_sent", f"/{command.get('name')} went to its account")
        self.command = command


class NotLoggedIn(Exception):
    """A call that needs a session was made before `login` or `register`."""


@dataclass
class Tokens:
    access: str
    refresh: str
    expires_at: float  # the access token's `exp`, in seconds since the epoch
    issued_at: float

    @classmethod
    def of(cls, access: str, refresh: str) -> Tokens:
        claims = _claims(access)
        exp = float(claims.get("exp", time.time() + 900))
        return cls(access, refresh, exp, float(claims.get("iat", time.time())))

    @property
    def refresh_at(self) -> float:
        ahead = min(REFRESH_AHEAD_S, (self.expires_at - self.issued_at) / 4)
        return self.expires_at - ahead


def _claims(token: str) -> dict[str, Any]:
    # Read, not verified: the client only needs to know when its token runs out.
    try:
        part = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class HttpSession:
    def __init__(
        self, urls: Sequence[str], *, timeout: float, auto_refresh: bool, user_agent: str
    ) -> None:
        if not urls:
            raise ValueError("give the server's address, e.g. http://127.0.0.1:8000")
        self.urls = [u.rstrip("/") for u in urls]
        self.current = 0
        self.http = httpx.AsyncClient(timeout=timeout, headers={"User-Agent": user_agent})
        self.tokens: Tokens | None = None
        self.user: Me | None = None
        self.refreshes = 0
        # Signed in with an API token (a bot's, or a personal one): it is not refreshed,
        # and a 401 means it was revoked or ran out.
        self.api_token = False
        self._auto_refresh = auto_refresh
        self._refreshing = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return self.urls[self.current]

    def next_address(self) -> None:
        self.current = (self.current + 1) % len(self.urls)

    # Tokens ----------------------------------------------------------------------------

    def signed_in(self, result: AuthResult) -> Me:
        self.user = result.user
        self._set_tokens(Tokens.of(result.token, result.refresh_token))
        return result.user

    def use_api_token(self, token: str) -> None:
        self.api_token = True
        self.tokens = Tokens(token, "", expires_at=math.inf, issued_at=0.0)

    def _set_tokens(self, tokens: Tokens | None) -> None:
        self.tokens = tokens
        if self._auto_refresh and tokens is not None and self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_ahead())

    async def access_token(self) -> str:
        """The current access token, refreshed first if it is about to run out."""
        tokens = self._need_tokens()
        if time.time() >= tokens.refresh_at:
            await self.refresh(tokens.access)
        return self._need_tokens().access

    def _need_tokens(self) -> Tokens:
        if self.tokens is None:
            raise NotLoggedIn("log in (or register) first")
        return self.tokens

    async def refresh(self, stale: str | None = None) -> TokenPair:
        """A new token pair. `stale`: refresh only if this is still the access token
        (another call may have refreshed it meanwhile)."""
        if self.api_token:
            raise HubbubError(
                401, "token_refused", "this API token was refused: revoked, or past its expiry"
            )
        async with self._refreshing:
            tokens = self._need_tokens()
            if stale is not None and tokens.access != stale:
                return TokenPair(token=tokens.access, refresh_token=tokens.refresh)
            pair = await self.call(
                "POST",
                "/auth/refresh",
                TokenPair,
                json={"refreshToken": tokens.refresh},
                auth=False,
            )
            self.tokens = Tokens.of(pair.token, pair.refresh_token)
            self.refreshes += 1
            return pair

    async def _refresh_ahead(self) -> None:
        while self.tokens is not None:
            await asyncio.sleep(max(0.0, self.tokens.refresh_at - time.time()))
            if self.tokens is None:
                return
            try:
                await self.refresh(self.tokens.access)
            except (HubbubError, httpx.TransportError):
                # Tried again on the next request (a 401 refreshes) or a bit later.
                await asyncio.sleep(5)

    def signed_out(self) -> None:
        self.api_token = False
        self.tokens = None
        self.user = None
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        await self.http.aclose()

    # Requests --------------------------------------------------------------------------

    async def call(
        self, method: str, path: str, model: type[M], *, auth: bool = True, **kwargs: Any
    ) -> M:
        """A request whose JSON answer is `model`."""
        response = await self.request(method, path, auth=auth, **kwargs)
        return model.model_validate(response.json())

    async def request(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        refreshed = False
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            token = await self.access_token() if auth else None
            response = await self._send(method, path, token, **kwargs)
            if response.status_code == 401 and auth and not refreshed and not self.api_token:
                refreshed = True
                await self.refresh(token)
                continue
            if response.status_code == 429 and attempt < RATE_LIMIT_RETRIES:
                wait = float(response.headers.get("Retry-After", "1"))
                if wait <= MAX_RETRY_WAIT_S:
                    await asyncio.sleep(wait)
                    continue
            if response.status_code >= 400:
                raise _error(response)
            return response
        raise _error(response)

    async def _send(
        self, method: str, path: str, token: str | None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        for tried in range(len(self.urls)):
            try:
                return await self.http.request(method, self.base + path, headers=headers, **kwargs)
            except httpx.RemoteProtocolError:
                # A kept-alive connection the server closed as it was reused: the request
                # never reached it. Once more, on a new connection.
                return await self.http.request(method, self.base + path, headers=headers, **kwargs)
            except httpx.ConnectError:
                # Nothing was sent: the next address may answer.
                if tried == len(self.urls) - 1:
                    raise
                self.next_address()
        raise AssertionError("unreachable")


def _error(response: httpx.Response) -> HubbubError:
    retry = response.headers.get("Retry-After")
    try:
        body = ErrorBody.model_validate(response.json())
    except ValueError:
        return HubbubError(response.status_code, "http_error", response.text[:200])
    return HubbubError(body.status_code, body.code, body.message, float(retry) if retry else None)


def body(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A request body checked against the server's own input model (a bad value is a
    `pydantic.ValidationError` here, before anything is sent); None fields are left out,
    and a datetime is sent as RFC 3339 text (a naive one is refused: it names no zone)."""
    given = {
        to_camel(name): value.isoformat() if isinstance(value, datetime) else value
        for name, value in fields.items()
        if value is not None
    }
    checked = model.model_validate(given)
    dumped: dict[str, Any] = checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dumped

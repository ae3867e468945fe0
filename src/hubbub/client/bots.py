"""The HTTP endpoints of API tokens, bot users and incoming webhooks, as typed methods
(docs/integrations.md). Signing in with a token is `AsyncClient.login_with_token`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hubbub.client.chat import Id
from hubbub.client.session import HttpSession, body
from hubbub.wire.integrations import (
    BotEnvelope,
    BotList,
    BotView,
    CreateBot,
    CreateToken,
    CreateWebhook,
    TokenCreated,
    TokenList,
    TokenView,
    WebhookCreated,
    WebhookList,
    WebhookView,
)
from hubbub.wire.models import Success

MY_TOKENS = "/users/me/tokens"


class BotsApi:
    """Mixed into `AsyncClient`; `_http` is its HTTP session."""

    _http: HttpSession

    # Tokens: the account's own, or (with `bot_id`) a bot's it owns -------------------

    async def create_token(
        self,
        name: str,
        scopes: Sequence[str] = ("read", "send"),
        *,
        expires_at: datetime | None = None,
        bot_id: Id | None = None,
    ) -> TokenCreated:
        """A new token; its `secret` is in this answer only."""
        sent = body(CreateToken, name=name, scopes=list(scopes), expires_at=expires_at)
        path = MY_TOKENS if bot_id is None else f"/bots/{bot_id}/tokens"
        return await self._http.call("POST", path, TokenCreated, json=sent)

    async def tokens(self, *, bot_id: Id | None = None) -> list[TokenView]:
        path = MY_TOKENS if bot_id is None else f"/bots/{bot_id}/tokens"
        return (await self._http.call("GET", path, TokenList)).tokens

    async def revoke_token(self, token_id: Id, *, bot_id: Id | None = None) -> Success:
        """Refused from now on; its sockets are cut on every node."""
        path = MY_TOKENS if bot_id is None else f"/bots/{bot_id}/tokens"
        return await self._http.call("DELETE", f"{path}/{token_id}", Success)

    # Bots -----------------------------------------------------------------------------

    async def create_bot(self, username: str, *, display_name: str | None = None) -> BotView:
        """A bot user owned by this account (it signs in with a token, never a password)."""
        sent = body(CreateBot, username=username, display_name=display_name)
        return (await self._http.call("POST", "/bots", BotEnvelope, json=sent)).bot

    async def bots(self) -> list[BotView]:
        return (await self._http.call("GET", "/bots", BotList)).bots

    async def delete_bot(self, bot_id: Id) -> Success:
        return await self._http.call("DELETE", f"/bots/{bot_id}", Success)

    # Incoming webhooks ---------------------------------------------------------------

    async def create_webhook(self, bot_id: Id, conversation_id: Id, name: str) -> WebhookCreated:
        """A URL that posts into the conversation as the bot; shown in this answer only."""
        sent = body(CreateWebhook, conversation_id=conversation_id, name=name)
        path = f"/bots/{bot_id}/webhooks"
        return await self._http.call("POST", path, WebhookCreated, json=sent)

    async def webhooks(self, bot_id: Id) -> list[WebhookView]:
        return (await self._http.call("GET", f"/bots/{bot_id}/webhooks", WebhookList)).webhooks

    async def rotate_webhook(self, bot_id: Id, webhook_id: Id) -> WebhookCreated:
        """A new secret and URL; the old URL answers 404 from now on."""
        path = f"/bots/{bot_id}/webhooks/{webhook_id}/rotate"
        return await self._http.call("POST", path, WebhookCreated)

    async def delete_webhook(self, bot_id: Id, webhook_id: Id) -> Success:
        return await self._http.call("DELETE", f"/bots/{bot_id}/webhooks/{webhook_id}", Success)

"""Integrations: API tokens, bot users and incoming webhooks (`/users/me/tokens`,
`/bots/...`, `/hooks/...`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from hubbub.domain.token_rules import Scope
from hubbub.wire.fields import (
    DisplayName,
    InputModel,
    MessageText,
    Name,
    Timestamp,
    Username,
    WireModel,
)
from hubbub.wire.models import UserPublic
from hubbub.wire.query import BodyTime

ScopeList = Annotated[list[Scope], Field(min_length=1, max_length=3)]


class CreateToken(InputModel):
    name: Name
    scopes: ScopeList
    # None: the token lasts until it is revoked.
    expires_at: BodyTime | None = None


class TokenView(WireModel):
    """An API token as listed: never its secret."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    scopes: list[Scope]
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None


class TokenCreated(WireModel):
    """A new token and its secret: shown this once, stored only as a hash."""

    token: TokenView
    secret: str


class TokenList(WireModel):
    tokens: list[TokenView]


class CreateBot(InputModel):
    username: Username
    display_name: DisplayName | None = None


class BotView(WireModel):
    user: UserPublic
    owner_id: uuid.UUID | None


class BotEnvelope(WireModel):
    bot: BotView


class BotList(WireModel):
    bots: list[BotView]


class CreateWebhook(InputModel):
    conversation_id: uuid.UUID
    name: Name


class WebhookView(WireModel):
    """An incoming webhook as listed: its URL holds its secret, so only the answers that
    make or rotate one carry it."""

    id: uuid.UUID
    bot_id: uuid.UUID
    conversation_id: uuid.UUID
    name: str
    created_at: Timestamp


class WebhookCreated(WireModel):
    webhook: WebhookView
    # `POST` here posts into the conversation as the bot; shown this once.
    url: str
    secret: str


class WebhookList(WireModel):
    webhooks: list[WebhookView]


def _has_text(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}


class WebhookPost(InputModel):
    """What a webhook's caller posts: hubbub's own `{content}`, or the Slack-style
    `{text, username}` (`username` is shown as a label beside the bot, never as a user).
    Exactly one of `content` and `text` holds some text (JSON Schema: `oneOf`)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [_has_text("content"), _has_text("text")]}
    )
    content: MessageText | None = None
    text: MessageText | None = None
    username: Name | None = None

    @model_validator(mode="after")
    def _one_text(self) -> WebhookPost:
        if _blank(self.content) == _blank(self.text):
            raise ValueError("give some text in exactly one of content and text")
        return self

    @property
    def message_text(self) -> str:
        chosen = self.text if _blank(self.content) else self.content
        return chosen or ""


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()

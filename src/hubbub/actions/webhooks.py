"""Incoming webhooks: a URL that posts into one conversation as a bot.

Edge (`/bots/{id}/webhooks...`, `POST /hooks/{id}/{secret}`) -> here -> the store and
the one send path (`SendService.send_message`, as the bot): the bot meets the rules and
the send budget of any member, and a webhook whose bot left the conversation, or which
was deleted, answers 404 like an unknown one. The secret in the URL is the credential:
stored as its SHA-256, compared in constant time. An `Idempotency-Key` becomes the
send's optimisticId (per webhook), so a repeated call returns the original message.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import select

from hubbub.actions.bots import BotService
from hubbub.actions.budgets import Budgets
from hubbub.actions.principal import Principal
from hubbub.actions.send import SendOutcome, SendService
from hubbub.config import Budget
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import new_id, utcnow
from hubbub.security.tokens import hash_refresh_token, new_webhook_secret
from hubbub.store.access import access_conversation
from hubbub.store.database import Database
from hubbub.store.models import User
from hubbub.store.token_models import IncomingWebhook
from hubbub.wire.integrations import (
    CreateWebhook,
    WebhookCreated,
    WebhookList,
    WebhookPost,
    WebhookView,
)
from hubbub.wire.models import SendMessage


def webhook_not_found() -> NotFound:
    return NotFound("No webhook at this URL", code="webhook_not_found")


def webhook_view(row: IncomingWebhook) -> WebhookView:
    return WebhookView(
        id=row.id,
        bot_id=row.bot_user_id,
        conversation_id=row.conversation_id,
        name=row.name,
        created_at=row.created_at,
    )


def optimistic_id(webhook_id: uuid.UUID, key: str) -> str:
    """The send's optimisticId for a caller's Idempotency-Key: one namespace per webhook."""
    digest = hashlib.sha256(f"{webhook_id}:{key}".encode("utf-8", "surrogatepass"))
    return "hook:" + digest.hexdigest()[:48]


class IncomingWebhooks:
    def __init__(
        self,
        db: Database,
        bots: BotService,
        send: SendService,
        budgets: Budgets,
        *,
        public_url: str,
    ) -> None:
        self._db = db
        self._bots = bots
        self._send = send
        self._budgets = budgets
        self._public_url = public_url.rstrip("/")

    def _created(self, row: IncomingWebhook, secret: str) -> WebhookCreated:
        url = f"{self._public_url}/hooks/{row.id}/{secret}"
        return WebhookCreated(webhook=webhook_view(row), url=url, secret=secret)

    async def create(
        self, principal: Principal, bot_id: uuid.UUID, req: CreateWebhook
    ) -> WebhookCreated:
        """A webhook of a bot the caller manages, into a conversation both are in."""
        bot = await self._bots.managed(principal, bot_id)
        await self._budgets.take(Budget.INTEGRATION, principal.user_id)
        secret = new_webhook_secret()
        async with self._db.write() as session:
            await access_conversation(session, principal.user_id, req.conversation_id)
            await access_conversation(session, bot.id, req.conversation_id)
            row = IncomingWebhook(
                id=new_id(),
                bot_user_id=bot.id,
                conversation_id=req.conversation_id,
                creator_id=principal.user_id,
                name=req.name,
                secret_hash=hash_refresh_token(secret),
                created_at=utcnow(),
            )
            session.add(row)
        return self._created(row, secret)

    async def of_bot(self, principal: Principal, bot_id: uuid.UUID) -> WebhookList:
        bot = await self._bots.managed(principal, bot_id)
        async with self._db.read() as session:
            rows = await session.scalars(
                select(IncomingWebhook)
                .where(IncomingWebhook.bot_user_id == bot.id)
                .where(IncomingWebhook.deleted_at.is_(None))
                .order_by(IncomingWebhook.created_at.desc(), IncomingWebhook.id)
            )
            found = rows.all()
        return WebhookList(webhooks=[webhook_view(row) for row in found])

    async def _owned(
        self, principal: Principal, bot_id: uuid.UUID, webhook_id: uuid.UUID
    ) -> IncomingWebhook:
        bot = await self._bots.managed(principal, bot_id)
        async with self._db.read() as session:
            row = await session.get(IncomingWebhook, webhook_id)
        if row is None or row.bot_user_id != bot.id or row.deleted_at is not None:
            raise webhook_not_found()
        return row

    async def delete(self, principal: Principal, bot_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
        row = await self._owned(principal, bot_id, webhook_id)
        async with self._db.write() as session:
            stored = await session.get(IncomingWebhook, row.id, with_for_update=True)
            if stored is None or stored.deleted_at is not None:
                raise webhook_not_found()
            stored.deleted_at = utcnow()

    async def rotate(
        self, principal: Principal, bot_id: uuid.UUID, webhook_id: uuid.UUID
    ) -> WebhookCreated:
        """A new secret: the old URL answers 404 from now on."""
        row = await self._owned(principal, bot_id, webhook_id)
        await self._budgets.take(Budget.INTEGRATION, principal.user_id)
        secret = new_webhook_secret()
        async with self._db.write() as session:
            stored = await session.get(IncomingWebhook, row.id, with_for_update=True)
            if stored is None or stored.deleted_at is not None:
                raise webhook_not_found()
            stored.secret_hash = hash_refresh_token(secret)
            row = stored
        return self._created(row, secret)

    async def post(
        self, webhook_id: uuid.UUID, secret: str, body: WebhookPost, key: str | None
    ) -> SendOutcome:
        async with self._db.read() as session:
            row = await session.get(IncomingWebhook, webhook_id)
            bot = await session.get(User, row.bot_user_id) if row is not None else None
        given = hash_refresh_token(secret)
        if row is None or bot is None:
            raise webhook_not_found()
        if not hmac.compare_digest(given, row.secret_hash):
            raise webhook_not_found()
        if row.deleted_at is not None or not bot.is_active:
            raise webhook_not_found()
        req = SendMessage.model_validate(
            {
                "content": body.message_text,
                "metadata": {"label": body.username} if body.username else {},
                "optimisticId": optimistic_id(row.id, key) if key is not None else None,
            }
        )
        try:
            return await self._send.send_message(bot.id, row.conversation_id, req)
        except NotFound:  # the bot left the conversation, or it was deleted
            raise webhook_not_found() from None

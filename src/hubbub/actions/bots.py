"""Bot users: made by a user (their owner) or an administrator, deleted (deactivated),
and given tokens.

Edge (`/bots/...`) -> here -> the store. A bot is an ordinary user row (`is_bot`, its
`bot_owner_id`) with no password to log in with: it joins conversations through the
normal participant add and meets every rule and budget a member meets. Deleting one
deactivates it: its tokens stop at once and its sockets are cut on every node
(`AccountClosed`, as an administrator's deactivation).
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hubbub.actions.api_tokens import ApiTokens
from hubbub.actions.budgets import Budgets
from hubbub.actions.principal import Principal
from hubbub.config import Budget
from hubbub.domain.errors import Conflict, Forbidden
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.token_rules import bot_not_found, bot_refusal
from hubbub.events.catalog import AccountClosed
from hubbub.queries.users import user_public
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.models import User
from hubbub.store.sessions import names_taken_txn
from hubbub.store.unit import emit
from hubbub.wire.integrations import (
    BotList,
    BotView,
    CreateBot,
    CreateToken,
    TokenCreated,
    TokenList,
)

# Not an Argon2 hash: no password verifies against it (and login refuses bots anyway).
NO_PASSWORD = "!bot"  # noqa: S105 (the mark of no password)


class BotService:
    def __init__(
        self,
        db: Database,
        tokens: ApiTokens,
        budgets: Budgets,
        *,
        urls: FileUrlSigner,
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._budgets = budgets
        self._urls = urls

    def view(self, bot: User) -> BotView:
        return BotView(
            user=user_public(bot, online=None, urls=self._urls), owner_id=bot.bot_owner_id
        )

    async def create(self, principal: Principal, req: CreateBot) -> BotView:
        await self._budgets.take(Budget.INTEGRATION, principal.user_id)
        username_key = req.username.lower()
        bot_id = new_id()
        # A unique address no one can receive mail at (`.invalid` is reserved for that).
        email = f"bot-{bot_id.hex}@bots.invalid"
        try:
            async with self._db.write() as session:
                owner = await session.get(User, principal.user_id)
                if owner is None or owner.is_bot:
                    raise Forbidden("A bot cannot make bots", code="bot_cannot_own_bots")
                if await names_taken_txn(session, username_key, email):
                    raise Conflict("Username already taken", code="username_taken")
                bot = User(
                    id=bot_id,
                    username=req.username,
                    username_key=username_key,
                    email=email,
                    password_hash=NO_PASSWORD + secrets.token_hex(8),
                    display_name=req.display_name,
                    display_name_key=req.display_name.lower() if req.display_name else None,
                    is_active=True,
                    is_bot=True,
                    bot_owner_id=principal.user_id,
                )
                session.add(bot)
                await session.flush()
        except IntegrityError:
            raise Conflict("Username already taken", code="username_taken") from None
        return self.view(bot)

    async def of_owner(self, owner_id: uuid.UUID) -> BotList:
        """The caller's bots still active, the newest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(User)
                .where(User.bot_owner_id == owner_id, User.is_bot, User.is_active)
                .order_by(User.created_at.desc(), User.id)
            )
            return BotList(bots=[self.view(bot) for bot in rows.all()])

    async def managed(self, principal: Principal, bot_id: uuid.UUID) -> User:
        """The bot, if the caller may manage it (its owner, or an administrator)."""
        async with self._db.read() as session:
            caller = await session.get(User, principal.user_id)
            bot = await session.get(User, bot_id)
        if bot is None or not bot.is_bot or not bot.is_active or caller is None:
            raise bot_not_found()
        if refusal := bot_refusal(caller.id, bot.bot_owner_id, caller.is_admin):
            raise refusal
        return bot

    async def delete(self, principal: Principal, bot_id: uuid.UUID) -> None:
        bot = await self.managed(principal, bot_id)
        now = utcnow()
        async with self._db.write() as session:
            row = await session.get(User, bot.id, with_for_update=True)
            if row is None or not row.is_active:
                raise bot_not_found()
            row.is_active = False
            row.updated_at = now
            emit(session, AccountClosed(row.id))

    async def create_token(
        self, principal: Principal, bot_id: uuid.UUID, req: CreateToken
    ) -> TokenCreated:
        bot = await self.managed(principal, bot_id)
        return await self._tokens.create(principal, bot.id, req)

    async def tokens(self, principal: Principal, bot_id: uuid.UUID) -> TokenList:
        bot = await self.managed(principal, bot_id)
        return await self._tokens.of_user(bot.id)

    async def revoke_token(
        self, principal: Principal, bot_id: uuid.UUID, token_id: uuid.UUID
    ) -> None:
        bot = await self.managed(principal, bot_id)
        await self._tokens.revoke(bot.id, token_id)

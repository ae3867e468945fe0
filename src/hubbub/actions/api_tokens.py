"""API tokens: made, listed and revoked by their user, or a bot's by its owner.

Edge (`/users/me/tokens`, `/bots/{id}/tokens`) -> here -> the store
(`hubbub.store.api_tokens`). A token never grants more than the caller holds
(`hubbub.domain.token_rules.grant_refusal`). Revoking one ends it as a session
(`AuthService.end_session`): its `sid:` key in `revoked_tokens` and `session_revoked`
on the commit, so its sockets are cut at once on every node.
"""

from __future__ import annotations

import uuid

from hubbub.actions.auth import AuthService
from hubbub.actions.budgets import Budgets
from hubbub.actions.principal import Principal, parse_scopes, stored_scopes
from hubbub.config import Budget
from hubbub.domain.errors import NotFound
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.token_rules import Scope, grant_refusal
from hubbub.security.tokens import hash_refresh_token, new_api_token
from hubbub.store.api_tokens import live_token_txn, live_tokens_txn
from hubbub.store.database import Database
from hubbub.store.token_models import ApiToken
from hubbub.wire.integrations import CreateToken, TokenCreated, TokenList, TokenView


def token_view(row: ApiToken) -> TokenView:
    return TokenView(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        scopes=[scope for scope in Scope if scope in parse_scopes(row.scopes)],
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


class ApiTokens:
    def __init__(self, db: Database, auth: AuthService, budgets: Budgets) -> None:
        self._db = db
        self._auth = auth
        self._budgets = budgets

    async def create(
        self, principal: Principal, user_id: uuid.UUID, req: CreateToken
    ) -> TokenCreated:
        """A new token of `user_id` (the caller, or a bot the caller may manage)."""
        if refusal := grant_refusal(principal.scopes, req.scopes):
            raise refusal
        await self._budgets.take(Budget.INTEGRATION, principal.user_id)
        secret = new_api_token()
        row = ApiToken(
            id=new_id(),
            user_id=user_id,
            name=req.name,
            scopes=stored_scopes(req.scopes),
            token_hash=hash_refresh_token(secret),
            created_at=utcnow(),
            expires_at=req.expires_at,
        )
        async with self._db.write() as session:
            session.add(row)
        return TokenCreated(token=token_view(row), secret=secret)

    async def of_user(self, user_id: uuid.UUID) -> TokenList:
        async with self._db.read() as session:
            rows = await live_tokens_txn(session, user_id)
        return TokenList(tokens=[token_view(row) for row in rows])

    async def revoke(self, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
        now = utcnow()
        async with self._db.write() as session:
            row = await live_token_txn(session, user_id, token_id)
            if row is None:
                raise NotFound("Token not found", code="token_not_found")
            row.revoked_at = now
            await self._auth.end_session(session, user_id, row.id, now)

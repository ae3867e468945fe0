"""Budgets: how fast one user (or address) may write, in one table.

Every action that writes, and every socket event that fans out, takes a token from its
budget before it reads or writes anything; an empty bucket is `RateLimited`
(`rate_limited` with `retryAfter`: 429 and `Retry-After` over HTTP, the ack or
`exception` on a socket), and nothing has changed. The buckets live in the rate
limiter (`hubbub.realtime.limits`): in the process, or in Redis, shared by every node.
The table (`hubbub.config.Budget`'s defaults, overridden by HUBBUB_BUDGETS) is built by
the composition root. Sends have their own limit (`hubbub.actions.send`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from hubbub.config import Budget, BudgetTable
from hubbub.domain.errors import RateLimited
from hubbub.realtime.limits import RateLimiter

# What the refusal says was too much, per budget.
_TOO_MANY: dict[Budget, str] = {
    Budget.REGISTER: "Too many new accounts right now",
    Budget.REGISTER_ADDRESS: "Too many new accounts from this address",
    Budget.REACTION: "Too many reactions",
    Budget.EDIT: "Too many edits and deletions",
    Budget.CONVERSATION_CREATE: "Too many new conversations",
    Budget.CONVERSATION_UPDATE: "Too many conversation changes",
    Budget.PARTICIPANT: "Too many membership changes",
    Budget.ADDED_TO: "Someone you are adding was added to too many conversations",
    Budget.SPACE: "Too many new spaces",
    Budget.PROFILE: "Too many profile or settings changes",
    Budget.UPLOAD: "Too many uploads",
    Budget.TYPING: "Too many typing events",
    Budget.READ_MARKER: "Too many read or delivery marks",
    Budget.PASSWORD_CHANGE: "Too many password checks",
    Budget.PASSWORD_RESET_ADDRESS: "Too many password resets from this address",
    Budget.PASSWORD_RESET_ACCOUNT: "Too many password resets for this account",
    Budget.EXPORT: "Too many data exports",
    Budget.INTEGRATION: "Too many API tokens, bots or webhooks made or changed",
}


class Budgets:
    def __init__(self, limiter: RateLimiter, table: BudgetTable) -> None:
        self._limiter = limiter
        self._table = dict(table)

    async def take(self, budget: Budget, key: object) -> None:
        """One token from the budget's bucket for `key` (a user id, an address)."""
        await self.take_each(budget, (key,))

    async def take_each(self, budget: Budget, keys: Iterable[object]) -> None:
        """One token from `name`'s bucket of each key (taken together: one round trip to
        Redis); refused if any of them is empty."""
        per_minute, burst = self._table[budget]
        waits = await asyncio.gather(
            *(
                self._limiter.take_token(f"budget:{budget.key}:{key}", per_minute / 60.0, burst)
                for key in dict.fromkeys(keys)
            )
        )
        wait = max(waits, default=0.0)
        if wait > 0:
            raise RateLimited(wait, f"{_TOO_MANY[budget]}; try again later")

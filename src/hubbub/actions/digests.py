"""Email digests: what a user missed, by email, at most once a period; and unsubscribing.

The node's lifespan starts the worker when SMTP is configured and digests are on
(HUBBUB_DIGEST_AFTER_S and HUBBUB_DIGEST_EVERY_S above 0). Every HUBBUB_DIGEST_CHECK_S
a round reads, for up to HUBBUB_DIGEST_BATCH users, the unread mentions and private
messages older than the threshold that no digest listed yet (`hubbub.store.digests`);
the rules (`hubbub.domain.digest_rules`) decide what each digest lists. Each user's
period is then claimed in a transaction of its own (a conditional write of
`digest_state`): of several nodes exactly one wins, and only the winner sends. The claim
is committed before the email leaves, so a node that dies while sending sends nothing
twice (that period's digest may be lost); an email the server refuses gives the claim
back for the next round. The unsubscribe link carries a signed token
(`hubbub.security.unsubscribe`) and works in one click (RFC 8058).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import groupby

from hubbub.actions.mail import Mailer
from hubbub.actions.races import once_more_if_raced
from hubbub.domain.digest_rules import (
    Missed,
    digest_due,
    digest_subject,
    digest_window,
    in_digest,
)
from hubbub.domain.errors import BadRequest
from hubbub.domain.ids import utcnow
from hubbub.domain.notify_rules import notification_title, preview
from hubbub.security.unsubscribe import UnsubscribeTokens
from hubbub.store.database import Database
from hubbub.store.digests import (
    MissedRow,
    addresses_txn,
    claim_digest_txn,
    digest_states_txn,
    due_users_txn,
    missed_txn,
    release_digest_txn,
)
from hubbub.store.models import User
from hubbub.store.notify_prefs import change_preferences_txn, preferences_txn
from hubbub.tracing import Tracing

log = logging.getLogger("hubbub.digests")

# Messages listed in one digest (the email says how many more there are).
PER_DIGEST = 20
# A user's first digest looks back this far at most (or one period, if longer).
FIRST_LOOKBACK = timedelta(days=7)


def _invalid() -> BadRequest:
    return BadRequest("This unsubscribe link is not valid", code="invalid_unsubscribe_token")


class Digests:
    def __init__(
        self,
        db: Database,
        mailer: Mailer | None,
        tokens: UnsubscribeTokens,
        *,
        public_url: str,
        after_s: int,
        every_s: int,
        check_s: float,
        batch: int,
        tracing: Tracing,
    ) -> None:
        self._db = db
        self._tracing = tracing
        self._mailer = mailer
        self._tokens = tokens
        self._public_url = public_url.rstrip("/")
        self._after_s = after_s
        self._every_s = every_s
        self._check_s = check_s
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._mailer is not None and self._after_s > 0 and self._every_s > 0

    def unsubscribe_url(self, user_id: uuid.UUID) -> str:
        return f"{self._public_url}/digests/unsubscribe?token={self._tokens.make(user_id)}"

    # Unsubscribing ------------------------------------------------------------------

    def check_token(self, token: str) -> None:
        """Refuse a token this server did not make (400 invalid_unsubscribe_token)."""
        if self._tokens.read(token) is None:
            raise _invalid()

    async def unsubscribe(self, token: str) -> None:
        """Turn off the digests of the user the token names; doing it again is fine."""
        user_id = self._tokens.read(token)
        if user_id is None:
            raise _invalid()
        # The link clicked twice at once saves once (`hubbub.actions.races`).
        await once_more_if_raced(lambda: self._digests_off(user_id))
        log.info("digests turned off by the unsubscribe link of user %s", user_id)

    async def _digests_off(self, user_id: uuid.UUID) -> None:
        async with self._db.write() as session:
            user = await session.get(User, user_id)
            if user is None or user.deleted_at is not None:
                raise _invalid()
            await change_preferences_txn(
                session, user_id, lambda prefs: replace(prefs, digests=False)
            )

    # The worker ---------------------------------------------------------------------

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name="hubbub-digests")

    async def _run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_s)
            try:
                with self._tracing.span("hubbub.digests.round"):  # its own trace
                    await self.run_round()
            except Exception:  # the next round tries again
                log.exception("digests: a round failed")

    async def run_round(self) -> int:
        """One round over at most a batch of users; the number of digests sent."""
        mailer = self._mailer
        if mailer is None or not self.enabled:
            return 0
        window = digest_window(utcnow(), after_s=self._after_s, every_s=self._every_s)
        floor = window.cutoff - max(FIRST_LOOKBACK, timedelta(seconds=self._every_s))
        async with self._db.read() as session:
            users = await due_users_txn(session, window, floor, limit=self._batch)
            if not users:
                return 0
            rows = await missed_txn(session, users, window, floor, per_user=PER_DIGEST)
            prefs = await preferences_txn(session, users)
            states = await digest_states_txn(session, users)
            addresses = await addresses_txn(session, users)
        sent = 0
        for user_id, group in groupby(rows, key=lambda r: r.user_id):
            missed = list(group)
            before = states.get(user_id)
            if not digest_due(None if before is None else before[0], window):
                continue
            listed = [r for r in missed if in_digest(prefs[user_id], _missed(r), window)]
            async with self._db.write() as session:
                claimed = await claim_digest_txn(session, user_id, window, sending=bool(listed))
            if not claimed or not listed or user_id not in addresses:
                continue
            more = missed[0].total - len(missed)
            if await self._send(mailer, addresses[user_id], user_id, listed, more):
                sent += 1
                continue
            async with self._db.write() as session:
                await release_digest_txn(session, user_id, window.now, before)
        return sent

    async def _send(
        self,
        mailer: Mailer,
        address: tuple[str, str],
        user_id: uuid.UUID,
        listed: list[MissedRow],
        more: int,
    ) -> bool:
        email, username = address
        unsubscribe = self.unsubscribe_url(user_id)
        body = self._body(username, listed, more, unsubscribe)
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        try:
            await mailer.send(email, digest_subject(len(listed) + more), body, headers)
        except Exception as exc:  # given back: the next round tries again
            log.warning(
                "digest email for user %s not sent: %s %s",
                user_id,
                type(exc).__name__,
                getattr(exc, "code", ""),
            )
            return False
        return True

    def _body(self, username: str, listed: list[MissedRow], more: int, unsubscribe: str) -> str:
        lines = [f"Hello {username},", "", "While you were away, this waited for you on hubbub:"]
        for row in listed:
            where = notification_title(row.sender_name, row.kind, row.conversation_name)
            said = "mentioned you" if row.mentioned else "wrote"
            lines += [
                "",
                f"* {where} {said} ({_when(row.at)}):",
                f"  {preview(row.content)}",
                f"  {self._public_url}/c/{row.conversation_id}?message={row.message_id}",
            ]
        if more > 0:
            lines += ["", f"...and {more} more."]
        lines += [
            "",
            f"Open hubbub: {self._public_url}/",
            "",
            "You get this email because email digests are on in your notification settings.",
            f"To stop them: {unsubscribe}",
        ]
        return "\n".join(lines) + "\n"

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _missed(row: MissedRow) -> Missed:
    return Missed(
        kind=row.kind,
        conversation_level=row.conversation_level,
        conversation_muted_until=row.conversation_muted_until,
        mentioned=row.mentioned,
        at=row.at,
    )


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")

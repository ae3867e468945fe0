"""Deleting one's own account: the policy is a tombstone.

Edge (`DELETE /users/me`) -> here -> the store. With the password, in one transaction:
the profile is erased and the row becomes "Deleted user" (username `deleted-<id>`, an
address that cannot receive mail, no password that can match), so the username and the
email are free for anyone at once; the account leaves every conversation as a member
who leaves does (a SYSTEM message "Deleted user left", `participant_removed`, an owner's
group handed over) and every space; every session ends and, through `AccountClosed`,
every socket of it is cut on every node. Its messages, reactions and files stay, their
sender shown everywhere as the tombstone; it is no longer found by search, cannot sign
in, and cannot be reactivated. The operator deletes an account the same way from the
terminal (`hubbub user delete`, no password; in the audit log).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.actions.account import AccountService
from hubbub.actions.audit import Actor, record
from hubbub.actions.auth import AuthService, Principal
from hubbub.actions.participants import hand_over_ownership
from hubbub.domain.account_rules import require_not_last_admin, user_not_found
from hubbub.domain.enums import ParticipantStatus, Role
from hubbub.domain.ids import utcnow
from hubbub.events.catalog import AccountClosed, NewMessage, ParticipantRemoved, UserUpdated
from hubbub.queries.conversations import ConversationQueries
from hubbub.queries.users import user_public
from hubbub.security.urls import FileUrlSigner
from hubbub.store.api_tokens import active_bots_of_txn
from hubbub.store.database import Database
from hubbub.store.models import Participant, User
from hubbub.store.password_resets import spend_reset_tokens_txn
from hubbub.store.push import forget_user_subscriptions_txn
from hubbub.store.sequence import write_system_message
from hubbub.store.sessions import user_by_username_txn
from hubbub.store.tombstones import active_participations_txn, leave_spaces_txn
from hubbub.store.unit import emit
from hubbub.store.users import contact_ids_txn, other_active_admins_txn

DELETED_NAME = "Deleted user"


class AccountDeletion:
    def __init__(
        self,
        db: Database,
        account: AccountService,
        auth: AuthService,
        queries: ConversationQueries,
        *,
        urls: FileUrlSigner,
    ) -> None:
        self._db = db
        self._urls = urls
        self._account = account
        self._queries = queries
        self._auth = auth

    async def delete(self, principal: Principal, password: str, client_address: str) -> None:
        await self._account.verified_user(principal, password, client_address)
        async with self._db.write() as session:
            user = await session.get(User, principal.user_id, with_for_update=True)
            if user is None or not user.is_active or user.deleted_at is not None:
                raise user_not_found()
            await self._erase(session, user)

    async def delete_by_username(self, username: str) -> uuid.UUID:
        """The operator deletes an account from the terminal, by the same policy; a
        deactivated account can be deleted too. Recorded in the audit log."""
        async with self._db.write() as session:
            user = await user_by_username_txn(session, username)
            if user is None or user.deleted_at is not None:
                raise user_not_found()
            await record(session, Actor.terminal(), None, "delete", user)
            await self._erase(session, user)
            return user.id

    async def _erase(self, session: AsyncSession, user: User) -> None:
        require_not_last_admin(user, await other_active_admins_txn(session, user.id))
        now = utcnow()
        contacts = await contact_ids_txn(session, user.id)
        tombstone(user, now)
        await session.flush()
        for row in await active_participations_txn(session, user.id):
            await self._leave(session, user, row, now)
        await leave_spaces_txn(session, user.id)
        await forget_user_subscriptions_txn(session, user.id)
        await spend_reset_tokens_txn(session, user.id, now)
        await self._auth.end_every_session(session, user.id, now)
        # The account's bots go with it: deactivated, their tokens and sockets ended.
        for bot in await active_bots_of_txn(session, user.id):
            bot.is_active = False
            bot.updated_at = now
            emit(session, AccountClosed(bot.id))
        gone = user_public(user, online=False, urls=self._urls)
        emit(session, AccountClosed(user.id), UserUpdated(gone, also_to=tuple(contacts)))

    async def _leave(
        self, session: AsyncSession, user: User, row: Participant, now: datetime
    ) -> None:
        row.status = ParticipantStatus.LEFT
        row.left_at = now
        row.updated_at = now
        if row.role == Role.OWNER:
            await hand_over_ownership(session, row.conversation_id, now)
        message = await write_system_message(
            session,
            row.conversation_id,
            user.id,
            f"{DELETED_NAME} left",
            {"event": "left", "userId": str(user.id)},
        )
        emit(
            session,
            NewMessage(await self._queries.message_view(session, message, user.id)),
            ParticipantRemoved(row.conversation_id, user.id),
        )


def tombstone(user: User, now: datetime) -> None:
    """Erase the profile; keep the row every message of the account points to."""
    name = f"deleted-{user.id.hex}"
    user.username = name
    user.username_key = name
    user.email = f"{name}@deleted.invalid"
    user.password_hash = "!"  # noqa: S105 (not a hash: no password verifies against it)
    user.display_name = DELETED_NAME
    user.display_name_key = None
    user.avatar_file_id = None
    user.bio = None
    user.last_seen = None
    user.is_active = False
    user.is_admin = False
    user.deleted_at = now
    user.updated_at = now

"""Changing a message: edit, delete, react.

Edge -> here -> the store (`hubbub.store.messages_write`); events after commit. Who may
change what is decided by `hubbub.store.access` (`access_message`, `require_*`). Each
change takes the conversation's next number and is announced as `message_updated` or
`message_deleted`; a change that changes nothing (the same text, a reaction already
there) takes no number and announces nothing.
"""

from __future__ import annotations

import uuid

from hubbub.actions.budgets import Budgets
from hubbub.actions.send_rules import checked_content
from hubbub.config import Budget
from hubbub.domain.errors import ValidationFailed
from hubbub.domain.rules import (
    require_can_delete,
    require_can_edit,
    require_can_react,
    require_not_deleted,
)
from hubbub.events.catalog import MessageDeleted, MessageUpdated
from hubbub.queries.views import Views
from hubbub.store.access import (
    access_message,
)
from hubbub.store.database import Database
from hubbub.store.messages_write import (
    delete_message_txn,
    edit_message_txn,
    has_attachments_txn,
    set_reaction_txn,
    user_reactions_txn,
)
from hubbub.store.unit import emit
from hubbub.wire.models import MessagePublic, ReactionPublic


class MessageChangeService:
    def __init__(
        self, db: Database, views: Views, budgets: Budgets, *, max_reactions_per_user: int
    ) -> None:
        self._db = db
        self._views = views
        self._budgets = budgets
        self._max_reactions = max_reactions_per_user

    async def edit(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, content: str
    ) -> MessagePublic:
        await self._budgets.take(Budget.EDIT, viewer)
        async with self._db.write() as session:
            access, message = await access_message(
                session, viewer, conversation_id, message_id, lock_message=True
            )
            require_can_edit(access, message)
            require_not_deleted(message)
            has_files = await has_attachments_txn(session, message_id)
            text = checked_content(content, has_attachments=has_files)
            changed = text != message.content
            if changed:
                await edit_message_txn(session, conversation_id, message, text)
            (view,) = await self._views.messages(session, [message], viewer)
            if changed:
                emit(session, MessageUpdated(view))
        return view

    async def delete(
        self, viewer: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> MessagePublic:
        await self._budgets.take(Budget.EDIT, viewer)
        async with self._db.write() as session:
            access, message = await access_message(
                session, viewer, conversation_id, message_id, lock_message=True
            )
            require_can_delete(access, message)
            if message.deleted_at is None:
                root = await delete_message_txn(session, conversation_id, message)
                (view,) = await self._views.messages(session, [message], viewer)
                emit(session, MessageDeleted(view))
                if root is not None:
                    (root_view,) = await self._views.messages(session, [root], viewer)
                    emit(session, MessageUpdated(root_view))
            else:
                (view,) = await self._views.messages(session, [message], viewer)
        return view

    async def react(
        self,
        viewer: uuid.UUID,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        emoji: str,
        *,
        add: bool,
    ) -> list[ReactionPublic]:
        await self._budgets.take(Budget.REACTION, viewer)
        async with self._db.write() as session:
            access, message = await access_message(
                session, viewer, conversation_id, message_id, lock_message=True
            )
            require_can_react(access, add=add)
            require_not_deleted(message)
            if add:
                # Each reaction sends the whole message to everyone: a few per user.
                mine = await user_reactions_txn(session, message.id, viewer)
                _require_reaction_room(mine, emoji, self._max_reactions)
            changed = await set_reaction_txn(
                session, conversation_id, message, viewer, emoji, add=add
            )
            (view,) = await self._views.messages(session, [message], viewer)
            if changed:
                emit(session, MessageUpdated(view))
        return view.reactions


def _require_reaction_room(mine: set[str], emoji: str, cap: int) -> None:
    if emoji not in mine and len(mine) >= cap:
        raise ValidationFailed(
            f"emoji: at most {cap} different reactions per person on one message",
            code="too_many_reactions",
        )

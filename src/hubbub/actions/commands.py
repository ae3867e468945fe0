"""Slash commands: `/name args` in a conversation where an account registered `name`
goes to that account's endpoint (a `command` event) instead of being posted.

Edge (`POST /conversations/{id}/messages`, the socket's `send_message`) -> `post` here:
a command registered in the conversation becomes a delivery in one transaction (the
caller must be a member who may send, as for any message), and the worker
(`hubbub.actions.webhook_worker`) sends it and posts the answer; anything else goes on
to the normal send. `register`/`unregister` (`/conversations/{id}/commands`): any member
registers a command it answers itself; only that account removes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from hubbub.actions.budgets import Budgets
from hubbub.actions.races import once_more_if_raced
from hubbub.actions.send import SendOutcome, SendService
from hubbub.config import Budget
from hubbub.domain.enums import ConversationType
from hubbub.domain.errors import Conflict, Forbidden, NotFound
from hubbub.domain.ids import new_id, utcnow
from hubbub.domain.rules import require_can_send
from hubbub.domain.webhook_rules import EventKind, command_call
from hubbub.queries.webhooks import command_view
from hubbub.store.access import access_conversation
from hubbub.store.commands import (
    add_command_txn,
    command_named_txn,
    command_subscriptions_txn,
    delete_command_txn,
)
from hubbub.store.database import Database
from hubbub.store.models import User
from hubbub.store.webhooks import NewDelivery, add_deliveries
from hubbub.wire.models import SendMessage
from hubbub.wire.webhooks import (
    CommandAccepted,
    EventCommand,
    EventConversation,
    SlashCommandRequest,
    SlashCommandView,
    WebhookEvent,
)


class SlashCommands:
    def __init__(
        self, db: Database, send: SendService, budgets: Budgets, *, wake: Callable[[], None]
    ) -> None:
        self._db = db
        self._send = send
        self._budgets = budgets
        self._wake = wake

    async def post(
        self,
        sender: uuid.UUID,
        conversation_id: uuid.UUID,
        req: SendMessage,
        *,
        origin_socket: str | None = None,
    ) -> SendOutcome | CommandAccepted:
        """A message, or a slash command registered in the conversation."""
        call = None
        if req.content.lstrip().startswith("/") and not req.attachments:
            call = command_call(req.content)
        if call is not None and req.parent_message_id is None:
            accepted = await self._invoke(sender, conversation_id, call.name, call.args)
            if accepted is not None:
                return accepted
        return await self._send.send_message(
            sender, conversation_id, req, origin_socket=origin_socket
        )

    async def _invoke(
        self, sender: uuid.UUID, conversation_id: uuid.UUID, name: str, args: str
    ) -> CommandAccepted | None:
        async with self._db.write() as session:
            command = await command_named_txn(session, conversation_id, name)
            if command is None:
                return None  # not a command here: posted as written
            access = await access_conversation(session, sender, conversation_id)
            require_can_send(access)
            subscriptions = await command_subscriptions_txn(session, command.user_id)
            if not subscriptions:
                raise Conflict(
                    f"/{name} cannot be answered now: its account has no endpoint for commands",
                    code="command_unavailable",
                )
            caller = await session.get(User, sender)
            event_id = new_id()
            event = WebhookEvent(
                id=event_id,
                type=EventKind.COMMAND.value,
                account_id=command.user_id,
                created_at=utcnow(),
                conversation=EventConversation(
                    id=conversation_id,
                    type="PRIVATE"
                    if access.conversation.type == ConversationType.PRIVATE
                    else "GROUP",
                ),
                command=EventCommand(
                    name=name,
                    args=args,
                    caller_id=sender,
                    caller_name="" if caller is None else caller.username,
                ),
            ).wire()
            # One event id for the command, whichever endpoints of the account get it.
            for subscription_id in subscriptions[:1]:
                add_deliveries(
                    session,
                    subscription_id,
                    [NewDelivery(event_id, EventKind.COMMAND.value, conversation_id, None, event)],
                )
        self._wake()
        return CommandAccepted(name=name, args=args, event_id=event_id)

    async def register(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, req: SlashCommandRequest
    ) -> SlashCommandView:
        """Register (or describe again) `/name`, answered by the caller; the same call
        twice at once registers it once (`hubbub.actions.races`)."""
        await self._budgets.take(Budget.PROFILE, user_id)
        return await once_more_if_raced(lambda: self._register(user_id, conversation_id, req))

    async def _register(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, req: SlashCommandRequest
    ) -> SlashCommandView:
        async with self._db.write() as session:
            await access_conversation(session, user_id, conversation_id)
            row = await command_named_txn(session, conversation_id, req.name)
            if row is not None and row.user_id != user_id:
                raise Conflict(
                    f"/{req.name} is answered by another account here", code="command_taken"
                )
            if row is None:
                row = await add_command_txn(
                    session, conversation_id, req.name, user_id, req.description
                )
            else:
                row.description = req.description
                await session.flush()
            return command_view(row)

    async def unregister(self, user_id: uuid.UUID, conversation_id: uuid.UUID, name: str) -> None:
        async with self._db.write() as session:
            await access_conversation(session, user_id, conversation_id)
            row = await command_named_txn(session, conversation_id, name)
            if row is None:
                raise NotFound(f"No command /{name} here", code="command_not_found")
            if row.user_id != user_id:
                raise Forbidden("Only the account that answers a command removes it")
            await delete_command_txn(session, row.id)

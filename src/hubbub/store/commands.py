"""Storage of slash commands (`slash_commands`).

Actions (`hubbub.actions.commands`) -> here.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hubbub.store.webhook_models import EventSubscription, SlashCommand


async def command_named_txn(
    session: AsyncSession, conversation_id: uuid.UUID, name: str
) -> SlashCommand | None:
    row: SlashCommand | None = await session.scalar(
        select(SlashCommand).where(
            SlashCommand.conversation_id == conversation_id, SlashCommand.name == name
        )
    )
    return row


async def commands_of_txn(session: AsyncSession, conversation_id: uuid.UUID) -> list[SlashCommand]:
    rows = await session.scalars(
        select(SlashCommand)
        .where(SlashCommand.conversation_id == conversation_id)
        .order_by(SlashCommand.name)
    )
    return list(rows.all())


async def add_command_txn(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    name: str,
    user_id: uuid.UUID,
    description: str,
) -> SlashCommand:
    row = SlashCommand(
        conversation_id=conversation_id, name=name, user_id=user_id, description=description
    )
    session.add(row)
    await session.flush()
    return row


async def delete_command_txn(session: AsyncSession, command_id: uuid.UUID) -> None:
    await session.execute(delete(SlashCommand).where(SlashCommand.id == command_id))


async def command_subscriptions_txn(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The account's live subscriptions that want `command` events."""
    rows = await session.scalars(
        select(EventSubscription.id)
        .where(
            EventSubscription.user_id == user_id,
            EventSubscription.deleted_at.is_(None),
            EventSubscription.events.contains("command"),
        )
        .order_by(EventSubscription.created_at)
    )
    return list(rows.all())

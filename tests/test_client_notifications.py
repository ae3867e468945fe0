"""The SDK's notification calls against a real `hubbub serve`: a user's defaults and a
conversation's own level read and changed, and the live `notification` events following
them (a pause holds them back; a level of the conversation's own lets them through)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from hubbub.client import Notification
from tests.gw import Server
from tests.sdk import signed_up


async def test_preferences_and_a_conversations_level_steer_notifications(
    sdk_server: Server,
) -> None:
    a, b = await signed_up(sdk_server.base), await signed_up(sdk_server.base)
    try:
        defaults = await b.notification_preferences()
        assert (defaults.private, defaults.group, defaults.space) == ("all", "mentions", "mentions")
        changed = await b.update_notification_preferences(timezone="Europe/Paris", digests=False)
        assert (changed.timezone, changed.digests) == ("Europe/Paris", False)
        assert changed.group == "mentions"  # the others stay
        assert await b.notification_preferences() == changed
        with pytest.raises(pydantic.ValidationError):  # refused before anything is sent
            await b.update_notification_preferences(group="sometimes")
        with pytest.raises(pydantic.ValidationError):
            await b.update_notification_preferences(paused_until=datetime(2030, 1, 1))
        assert await b.notification_preferences() == changed
        group = await a.create_group("standup", [b.user.id])

        heard = b.events()
        await b.connect()
        # The group's default is mentions: a plain message does not notify...
        await a.send(group.id, "plain")
        # ... unless the conversation's own level says all.
        mine = await b.conversation_settings(group.id, notification_level="all")
        assert mine.notification_level == "all"
        first = await a.send(group.id, "now you hear me")
        note = await heard.next(Notification)
        assert (note.message_id, note.sender_id) == (first.id, a.user.id)
        assert "now you hear me" in note.body

        # Paused: nothing; resumed: the next one is the next message, not the held one.
        soon = datetime.now(UTC) + timedelta(hours=1)
        await b.update_notification_preferences(paused_until=soon)
        await a.send(group.id, "while paused")
        past = datetime.now(UTC) - timedelta(minutes=1)
        await b.update_notification_preferences(paused_until=past)
        after = await a.send(group.id, "after the pause")
        assert (await heard.next(Notification)).message_id == after.id
    finally:
        await a.close()
        await b.close()

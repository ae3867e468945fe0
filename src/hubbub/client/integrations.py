"""The HTTP endpoints of outgoing webhooks and slash commands, as typed methods
(docs/integrations.md): an account's event subscriptions and their delivery log, a
conversation's commands, and running a command. Checking a delivery the server POSTs is
`hubbub.client.webhooks`."""

from __future__ import annotations

from collections.abc import Sequence

from hubbub.client.chat import Id
from hubbub.client.session import HttpSession, body
from hubbub.wire.models import SendMessage, Success
from hubbub.wire.webhooks import (
    CommandAccepted,
    CommandEnvelope,
    DeliveryList,
    DeliveryView,
    EventName,
    EventSubscriptionList,
    EventSubscriptionRequest,
    EventSubscriptionView,
    NewEventSubscription,
    PingSent,
    SlashCommandEnvelope,
    SlashCommandList,
    SlashCommandRequest,
    SlashCommandView,
)

SUBSCRIPTIONS = "/users/me/event-subscriptions"


def _subscriptions(bot_id: Id | None) -> str:
    return SUBSCRIPTIONS if bot_id is None else f"/bots/{bot_id}/event-subscriptions"


class IntegrationsApi:
    """Mixed into `AsyncClient`; `_http` is its HTTP session."""

    _http: HttpSession

    async def subscribe_events(
        self, url: str, events: Sequence[EventName], *, bot_id: Id | None = None
    ) -> NewEventSubscription:
        """Deliver these events to `url` (the account's, or with `bot_id` a bot's it
        owns); the answer's `secret` (shown once) signs them."""
        sent = body(EventSubscriptionRequest, url=url, events=list(events))
        return await self._http.call(
            "POST", _subscriptions(bot_id), NewEventSubscription, json=sent
        )

    async def event_subscriptions(self, *, bot_id: Id | None = None) -> list[EventSubscriptionView]:
        path = _subscriptions(bot_id)
        return (await self._http.call("GET", path, EventSubscriptionList)).subscriptions

    async def unsubscribe_events(self, subscription_id: Id, *, bot_id: Id | None = None) -> Success:
        return await self._http.call(
            "DELETE", f"{_subscriptions(bot_id)}/{subscription_id}", Success
        )

    async def deliveries(
        self, subscription_id: Id, *, status: str | None = None, bot_id: Id | None = None
    ) -> list[DeliveryView]:
        """The delivery log, newest first."""
        params = {} if status is None else {"status": status}
        path = f"{_subscriptions(bot_id)}/{subscription_id}/deliveries"
        return (await self._http.call("GET", path, DeliveryList, params=params)).deliveries

    async def ping_endpoint(self, subscription_id: Id, *, bot_id: Id | None = None) -> DeliveryView:
        path = f"{_subscriptions(bot_id)}/{subscription_id}/test"
        return (await self._http.call("POST", path, PingSent)).delivery

    async def register_command(
        self, conversation_id: Id, name: str, *, description: str = ""
    ) -> SlashCommandView:
        """`/name` in this conversation now comes to this account's endpoint."""
        sent = body(SlashCommandRequest, name=name, description=description)
        path = f"/conversations/{conversation_id}/commands"
        return (await self._http.call("POST", path, SlashCommandEnvelope, json=sent)).command

    async def commands(self, conversation_id: Id) -> list[SlashCommandView]:
        path = f"/conversations/{conversation_id}/commands"
        return (await self._http.call("GET", path, SlashCommandList)).commands

    async def remove_command(self, conversation_id: Id, name: str) -> Success:
        path = f"/conversations/{conversation_id}/commands/{name}"
        return await self._http.call("DELETE", path, Success)

    async def run_command(self, conversation_id: Id, text: str) -> CommandAccepted:
        """Send `/name args` to a command registered in the conversation (nothing is
        posted; the answer comes as a message, or as a `command_reply` event)."""
        sent = body(SendMessage, content=text)
        path = f"/conversations/{conversation_id}/messages"
        return (await self._http.call("POST", path, CommandEnvelope, json=sent)).command

"""Outgoing webhooks and slash commands on the wire: an account's event subscriptions
(`/users/me/event-subscriptions`), their delivery log, a conversation's commands
(`/conversations/{id}/commands`), and the body of every event the server POSTs to an
endpoint (`WebhookEvent`) with what the endpoint may answer (`WebhookReply`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StringConstraints

from hubbub.wire.fields import CleanStr, Documented, InputModel, Timestamp, WireModel

EventName = Literal["new_message", "mention", "direct", "command"]
DeliveryState = Literal["pending", "delivered", "dead"]


# http(s)://host[:port][/path][?query]: no user, no fragment.
WEBHOOK_URL = r"^https?://[A-Za-z0-9.\[\]:-]+(?:[/?][^#\s]*)?$"
COMMAND_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class EventSubscriptionRequest(InputModel):
    """`url`: http:// or https://, on a public address unless the operator allows its
    network. `events`: what to deliver (at least one)."""

    url: Annotated[
        CleanStr,
        StringConstraints(min_length=8, max_length=2048, pattern=WEBHOOK_URL),
        Documented(pattern=WEBHOOK_URL),
    ]
    events: Annotated[list[EventName], Field(min_length=1, max_length=4)]


class EventSubscriptionView(WireModel):
    id: uuid.UUID
    url: str
    events: list[str]
    created_at: Timestamp


class NewEventSubscription(WireModel):
    """`secret` signs every delivery; it is shown this once."""

    subscription: EventSubscriptionView
    secret: str


class EventSubscriptionList(WireModel):
    subscriptions: list[EventSubscriptionView]


class DeliveryView(WireModel):
    id: uuid.UUID  # the event id (`X-Hubbub-Event-Id`)
    event: str
    conversation_id: uuid.UUID | None
    seq: int | None
    status: DeliveryState
    attempts: int
    next_attempt_at: Timestamp | None  # while pending
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None


class DeliveryList(WireModel):
    deliveries: list[DeliveryView]


class PingSent(WireModel):
    delivery: DeliveryView


CommandName = Annotated[
    CleanStr,
    StringConstraints(pattern=COMMAND_NAME, max_length=32),
    Documented(pattern=COMMAND_NAME),
]


class SlashCommandRequest(InputModel):
    name: CommandName
    description: Annotated[CleanStr, StringConstraints(max_length=200)] = ""


class SlashCommandView(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    name: str
    description: str
    user_id: uuid.UUID  # the account that answers it
    created_at: Timestamp


class SlashCommandEnvelope(WireModel):
    command: SlashCommandView


class SlashCommandList(WireModel):
    commands: list[SlashCommandView]


# What the server POSTs -----------------------------------------------------------------


class EventConversation(WireModel):
    id: uuid.UUID
    type: str


class EventMessage(WireModel):
    id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_name: str
    type: str
    content: str
    mentions: list[uuid.UUID]
    parent_message_id: uuid.UUID | None
    created_at: Timestamp


class EventCommand(WireModel):
    name: str
    args: str
    caller_id: uuid.UUID
    caller_name: str


class WebhookEvent(WireModel):
    """One event: `type` says which; `message` with the message events, `command` with
    `command`, neither with `ping`. `id` is the event id: the same on every retry."""

    id: uuid.UUID
    type: Literal["new_message", "mention", "direct", "command", "ping"]
    account_id: uuid.UUID  # the subscribed account
    created_at: Timestamp
    conversation: EventConversation | None = None
    message: EventMessage | None = None
    command: EventCommand | None = None


class WebhookReply(WireModel):
    """What a 2xx answer may carry: text to post as the account in the event's
    conversation (`content`, or `text`); for a command, `ephemeral` shows it to the
    caller only."""

    content: str | None = None
    text: str | None = None
    ephemeral: StrictBool = False


class CommandAccepted(WireModel):
    """The answer to a send that was a slash command: nothing was posted; the command
    went to its account as the event `event_id`, whose reply comes as a message (or,
    shown to the caller only, as the socket event `command_reply`)."""

    name: str
    args: str
    event_id: uuid.UUID


class CommandEnvelope(WireModel):
    command: CommandAccepted

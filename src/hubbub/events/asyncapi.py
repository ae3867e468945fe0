"""The Socket.IO events as an AsyncAPI 3.0 document (served at GET /asyncapi.json).

Built from the same typed models the server uses: the events of `catalog` with their
payload models (`hubbub.wire.events`), the socket edge's own answers, and the client's
events with the models the namespace validates them with (`hubbub.wire.socket`). The
document describes the server: it receives the client's events and sends its own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hubbub.events import catalog
from hubbub.wire.events import (
    SOCKET_ANSWERS,
    CommandReplyPayload,
    ConversationPayload,
    MessagePayload,
    MessagesDeliveredPayload,
    MessagesReadPayload,
    NotificationPayload,
    ParticipantAddedPayload,
    ParticipantRemovedPayload,
    StopTypingPayload,
    TypingPayload,
    UnreadCountPayload,
    UserOfflinePayload,
    UserOnlinePayload,
    UserPayload,
)
from hubbub.wire.fields import SHARED_SCHEMAS
from hubbub.wire.socket import CLIENT_EVENTS

# The payload model of every catalog event that reaches clients.
CATALOG_PAYLOADS: dict[type[catalog.ServerEvent], type[BaseModel]] = {
    catalog.NewMessage: MessagePayload,
    catalog.MessageUpdated: MessagePayload,
    catalog.MessageDeleted: MessagePayload,
    catalog.MessagesRead: MessagesReadPayload,
    catalog.MessagesDelivered: MessagesDeliveredPayload,
    catalog.UnreadCount: UnreadCountPayload,
    catalog.Notification: NotificationPayload,
    catalog.CommandReply: CommandReplyPayload,
    catalog.ConversationCreated: ConversationPayload,
    catalog.ConversationUpdated: ConversationPayload,
    catalog.ParticipantAdded: ParticipantAddedPayload,
    catalog.ParticipantRemoved: ParticipantRemovedPayload,
    catalog.UserUpdated: UserPayload,
    catalog.UserOnline: UserOnlinePayload,
    catalog.UserOffline: UserOfflinePayload,
    catalog.Typing: TypingPayload,
    catalog.StopTyping: StopTypingPayload,
}

# Catalog events that reach no client: every node cuts the sockets they name.
INTERNAL_EVENTS: tuple[type[catalog.ServerEvent], ...] = (
    catalog.SessionEnded,
    catalog.AccountClosed,
)

CHANNEL = "messaging"
_SCHEMAS = "#/components/schemas/{model}"


def server_events() -> dict[str, type[BaseModel]]:
    """Every event a client can receive, by name, with its payload model."""
    events: dict[str, type[BaseModel]] = {cls.name: m for cls, m in CATALOG_PAYLOADS.items()}
    events.update(SOCKET_ANSWERS)
    return events


def _message(name: str, schema: dict[str, Any], summary: str) -> dict[str, Any]:
    return {"name": name, "title": name, "summary": summary, "payload": schema}


def _operation(action: Literal["send", "receive"], key: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{CHANNEL}"},
        "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{key}"}],
    }


def asyncapi_document(version: str) -> dict[str, Any]:
    sent = server_events()
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "serialization") for model in sent.values()
    ] + [(model, "validation") for model in CLIENT_EVENTS.values()]
    refs, definitions = models_json_schema(wanted, by_alias=True, ref_template=_SCHEMAS)
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, model in sent.items():
        key = f"server_{name}"
        summary = f"Sent by the server: {name}."
        messages[key] = _message(name, dict(refs[(model, "serialization")]), summary)
        operations[f"send_{name}"] = _operation("send", key)
    for name, input_model in CLIENT_EVENTS.items():
        key = f"client_{name}"
        summary = f"Sent by a client: {name}; answered with an ack {{ok, …}} or `exception`."
        messages[key] = _message(name, dict(refs[(input_model, "validation")]), summary)
        operations[f"receive_{name}"] = _operation("receive", key)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "hubbub Socket.IO events",
            "version": version,
            "description": (
                "Socket.IO v5 on the namespace /messaging; every payload is one JSON "
                "object. The rules (acks, recipients, resume) are in "
                "docs/socket-protocol.md of the repository."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": "/messaging",
                "title": "The /messaging namespace",
                "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages},
            }
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": definitions.get("$defs", {}) | SHARED_SCHEMAS,
        },
    }

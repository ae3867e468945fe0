"""Socket.IO packets as hubbub encodes and decodes them, and whether the event being
handled asked for an ack.

The gateway's server (`gateway.py`) decodes each packet with `JsonPacket` and notes its
ack id here before the namespace (`namespace.py`) handles it; every packet it sends,
an ack with a whole message in it included, is encoded with `FastJson`.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

import orjson
import socketio

from hubbub.wire.json_depth import nested_too_deep


class FastJson:
    """The JSON module python-socketio and python-engineio code packets with: orjson
    where it can (an ack carries a whole message), the standard library where orjson
    refuses (integers beyond 64 bits); decoding stays the standard library's, which
    every existing client's payloads were written against, once the packet is known not
    to nest too deeply for it (`hubbub.wire.json_depth`). (Engine.IO's own module also
    refused integers of over 100 digits; what it parses here is a packet the gateway
    closes as malformed, and Python refuses integers of over 4,300.)"""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        if nested_too_deep(text):
            raise ValueError("JSON nested too deeply")  # a malformed packet
        return json.loads(text, **kwargs)


class JsonPacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets as hubbub sends them: JSON only, encoded with `FastJson`.
    python-socketio walks every outgoing payload looking for bytes to send as binary
    attachments (a sixth of a busy node's CPU, on acks that carry a whole message);
    hubbub never sends bytes, so the walk is skipped. Incoming binary packets still
    decode, and their payloads fail validation like any other wrong type."""

    uses_binary_events = False
    json = FastJson


# Whether the event being handled carries an ack id (set by `GatewayServer`).
_has_ack: contextvars.ContextVar[bool] = contextvars.ContextVar("hubbub_has_ack", default=False)


def event_wants_ack() -> bool:
    """In a namespace's event handler: whether the client asked for an ack."""
    return _has_ack.get()


def note_ack(wanted: bool) -> None:
    """Set by the server before it runs an event's handler."""
    _has_ack.set(wanted)

"""What crosses the bus: an event's wire name and payload, its audience, its effect.

A typed event (`hubbub.events.catalog`) becomes an `Envelope` when it is published: the
payload is JSON-ready and encoded once for every recipient, the `Audience` says whose
sockets receive it, and the `Effect` says what the hub changes in its own index of
sockets (a conversation joined, a conversation left, a session ended). The hub reads
these typed fields only, never the payload meant for clients. An envelope travels
between nodes as JSON (`to_json` / `from_json`) and means the same on every node.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Audience:
    """The union of: the sockets listening to `conversation_id`, every socket of
    `user_ids`, and every socket of the users who share a conversation or a space with
    `contacts_of`; minus the socket `exclude_socket` and every socket of `exclude_user`."""

    conversation_id: uuid.UUID | None = None
    user_ids: tuple[uuid.UUID, ...] = ()
    contacts_of: uuid.UUID | None = None
    exclude_socket: str | None = None
    exclude_user: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    """What the hub does to its index for this event: `joined` users start listening
    to `conversation_id` before the event is delivered (so they hear it); `left` users
    stop listening after it (so they hear of their removal and nothing after it); every
    socket of `ended_session`, and of `ended_user`, is disconnected instead of being
    sent anything."""

    conversation_id: uuid.UUID | None = None
    joined: tuple[uuid.UUID, ...] = ()
    left: tuple[uuid.UUID, ...] = ()
    ended_session: uuid.UUID | None = None
    ended_user: uuid.UUID | None = None


NO_EFFECT = Effect()


@dataclass(frozen=True, slots=True)
class Envelope:
    name: str
    payload: dict[str, Any]
    audience: Audience
    effect: Effect = NO_EFFECT

    def to_json(self) -> bytes:
        a, e = self.audience, self.effect
        return orjson.dumps(
            {
                "n": self.name,
                "p": self.payload,
                "a": [
                    _str(a.conversation_id),
                    [str(u) for u in a.user_ids],
                    _str(a.contacts_of),
                    a.exclude_socket,
                    _str(a.exclude_user),
                ],
                "e": None
                if e is NO_EFFECT
                else [
                    _str(e.conversation_id),
                    [str(u) for u in e.joined],
                    [str(u) for u in e.left],
                    _str(e.ended_session),
                    _str(e.ended_user),
                ],
            }
        )

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Envelope:
        conversation, users, contacts, exclude_socket, exclude_user = d["a"]
        effect = NO_EFFECT
        if d["e"] is not None:
            # A node of the previous release sends four fields (no `ended_user`).
            effect_conversation, joined, left, ended, *ended_user = d["e"]
            effect = Effect(
                conversation_id=_uuid(effect_conversation),
                joined=tuple(uuid.UUID(u) for u in joined),
                left=tuple(uuid.UUID(u) for u in left),
                ended_session=_uuid(ended),
                ended_user=_uuid(ended_user[0]) if ended_user else None,
            )
        return Envelope(
            name=d["n"],
            payload=d["p"],
            audience=Audience(
                conversation_id=_uuid(conversation),
                user_ids=tuple(uuid.UUID(u) for u in users),
                contacts_of=_uuid(contacts),
                exclude_socket=exclude_socket,
                exclude_user=_uuid(exclude_user),
            ),
            effect=effect,
        )


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)

"""Which Redis channels carry an event, so that it reaches only the nodes that need it.

Each node subscribes to one channel per conversation its sockets listen to and one per
user it holds a socket of (the hub says which, through `Interest`), plus one channel
every node hears (`all`). An event is published on the channels of its audience and
effect (`channels_of`): its conversation's, its users', and the users' whose index it
changes (joined, left, ended); an audience the publisher cannot name without a query
(`contacts_of`, the contacts of a user) and an ended session go to `all`.

Exact channels rather than a fixed number of hashed shards: a node holding thousands
of sockets listens to thousands of conversations, which covers every one of 64 (or
4,096) shards, and it would hear every event of the cluster again; a channel per
conversation costs Redis one entry per (node, conversation) pair and keeps what each
node hears to what its sockets need, whatever the number of nodes (docs/scaling.md).

An event on several channels (a participant added: the conversation's and the user's)
reaches a node subscribed to both twice. Each publishing node numbers its events; a
node's PUBLISHes reach every subscriber in the order Redis ran them, so a receiver
delivers an event only if its number is above the last it delivered from that node
(`Numbered`), and the order of one node's events is kept on every receiver.

A socket that starts listening to a conversation hears its events once Redis has run
the node's SUBSCRIBE. A handshake or `join_conversation` waits for Redis to confirm it
(`Interest.ready`) before the client can `sync`; a membership event that joins a user
is written to the user's sockets only after the SUBSCRIBE has left for Redis
(`Interest.sent`), so any send the newcomer reacts to comes later. What still falls in
between is what docs/guarantees.md calls best effort: the client sees the gap in `seq` and
fetches it with `sync`.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import orjson

from hubbub.events.envelope import Envelope

EVERY_NODE = "all"


def conversation_channel(conversation_id: uuid.UUID) -> str:
    return "c:" + str(conversation_id)


def user_channel(user_id: uuid.UUID) -> str:
    return "u:" + str(user_id)


def channels_of(envelope: Envelope) -> tuple[str, ...]:
    """The channels (without the bus's prefix) an envelope is published on, sorted."""
    to, effect = envelope.audience, envelope.effect
    if to.contacts_of is not None or effect.ended_session is not None:
        return (EVERY_NODE,)
    found: set[str] = set()
    if to.conversation_id is not None:
        found.add(conversation_channel(to.conversation_id))
    for uid in (*to.user_ids, *effect.joined, *effect.left):
        found.add(user_channel(uid))
    if effect.ended_user is not None:
        found.add(user_channel(effect.ended_user))
    return tuple(sorted(found)) if found else (EVERY_NODE,)


def encode_run(origin: str, first: int, envelopes: list[bytes]) -> bytes:
    """One Redis message for consecutive events of one node (each `Envelope.to_json`):
    the publishing node, its number for the first event, then the events as a JSON
    array. A node skips its own publications by the prefix, undecoded."""
    head = origin.encode() + b"\n" + str(first).encode() + b"\n["
    return head + b",".join(envelopes) + b"]"


def decode_run(raw: bytes) -> tuple[str, int, list[Envelope]]:
    origin, _, rest = raw.partition(b"\n")
    first, _, body = rest.partition(b"\n")
    return origin.decode(), int(first), [Envelope.from_dict(d) for d in orjson.loads(body)]


class Numbered:
    """A receiver's memory of the last event it delivered from each node."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def fresh(self, origin: str, first: int, envelopes: list[Envelope]) -> list[Envelope]:
        """The events of a run not delivered yet (those of another channel came first)."""
        last = self._last.get(origin, 0)
        self._last[origin] = max(last, first + len(envelopes) - 1)
        return envelopes[max(0, last - first + 1) :]

    def __len__(self) -> int:
        return len(self._last)


class Interest(Protocol):
    """What a node's hub tells its bus: the conversations and users it has sockets for
    (each call when the first socket comes or the last one goes)."""

    def conversation(self, conversation_id: uuid.UUID, wanted: bool) -> None: ...

    def user(self, user_id: uuid.UUID, wanted: bool) -> None: ...

    async def ready(self) -> None:
        """Return once every channel wanted so far is subscribed (or the bus is away:
        then its resync covers what is missed)."""

    async def sent(self) -> None:
        """Return once the subscriptions asked for so far have been written to Redis
        (not confirmed: the bus's own listener, which confirms them, may wait here)."""


class EveryEvent:
    """The interest of a bus that hands every event to its one node (in process)."""

    def conversation(self, conversation_id: uuid.UUID, wanted: bool) -> None:
        return None

    def user(self, user_id: uuid.UUID, wanted: bool) -> None:
        return None

    async def ready(self) -> None:
        return None

    async def sent(self) -> None:
        return None


EVERY_EVENT = EveryEvent()

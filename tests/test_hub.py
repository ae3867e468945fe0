"""The local hub (`hubbub.realtime.hub.Hub`) over a fake transport.

No server, no sockets: `FakeTransport` records what each socket was written, answers
SLOW or GONE for the sockets a test chooses, and records disconnects. The hub gets its
lookups (contacts, conversations) as plain dictionaries and a fresh `Metrics`. Events
are the catalog's own where one fits, or an `Envelope` built for the case.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hubbub.events.catalog import (
    AccountClosed,
    MessagesDelivered,
    ParticipantRemoved,
    SessionEnded,
    StopTyping,
    Typing,
    UnreadCount,
    UserOffline,
    UserOnline,
)
from hubbub.events.envelope import Audience, Effect, Envelope
from hubbub.metrics import Metrics
from hubbub.realtime import hub as hub_module
from hubbub.realtime.hub import NAMESPACE, PRESENCE_MOST_S, PRESENCE_STRETCH, Hub, Packet, Sent
from hubbub.realtime.sockets import Circle, SocketState


class FakeTransport:
    """Records, per Engine.IO session, the packets written; `answers` makes chosen
    sockets SLOW or GONE (the others are written at once)."""

    def __init__(self) -> None:
        self.packets: dict[str, list[Packet]] = {}
        self.answers: dict[str, Sent] = {}
        self.disconnected: list[str] = []
        # Per session, the sizes of the writes of several packets at once (`write_many`).
        self.batches: dict[str, list[int]] = {}

    def write(self, eio_sid: str, packet: Packet) -> Sent:
        answer = self.answers.get(eio_sid, Sent.DIRECT)
        if answer in (Sent.DIRECT, Sent.QUEUED):
            self.packets.setdefault(eio_sid, []).append(packet)
        return answer

    def write_many(self, eio_sid: str, packets: list[Packet]) -> Sent:
        answer = self.answers.get(eio_sid, Sent.DIRECT)
        if answer in (Sent.DIRECT, Sent.QUEUED):
            self.packets.setdefault(eio_sid, []).extend(packets)
            self.batches.setdefault(eio_sid, []).append(len(packets))
        return answer

    async def disconnect(self, sid: str) -> None:
        self.disconnected.append(sid)

    def events(self, socket: SocketState) -> list[tuple[str, dict[str, Any]]]:
        """(name, payload) of every packet the socket got, in order."""
        return [decode(p) for p in self.packets.get(socket.eio_sid, [])]

    def names(self, socket: SocketState) -> list[str]:
        return [name for name, _ in self.events(socket)]


def decode(packet: Packet) -> tuple[str, dict[str, Any]]:
    prefix = "2" + NAMESPACE + ","
    assert packet.text.startswith(prefix), packet.text
    name, payload = orjson.loads(packet.text[len(prefix) :])
    return name, payload


@dataclass
class Lookups:
    """What the hub asks of the database, answered from dictionaries and counted."""

    circles: dict[uuid.UUID, Circle] = field(default_factory=dict)
    conversations: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    asked_conversations_of: list[uuid.UUID] = field(default_factory=list)
    asked_circles_of: list[list[uuid.UUID]] = field(default_factory=list)

    def knows(
        self,
        user_id: uuid.UUID,
        conversations: Iterable[uuid.UUID] = (),
        space_contacts: Iterable[uuid.UUID] = (),
    ) -> None:
        self.circles[user_id] = Circle(frozenset(conversations), frozenset(space_contacts))

    async def circles_of(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Circle]:
        self.asked_circles_of.append(list(user_ids))
        empty = Circle(frozenset(), frozenset())
        return {uid: self.circles.get(uid, empty) for uid in user_ids}

    async def conversations_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        self.asked_conversations_of.append(user_id)
        return list(self.conversations.get(user_id, []))


@dataclass
class Scene:
    hub: Hub
    transport: FakeTransport
    metrics: Metrics
    lookups: Lookups
    _count: int = 0

    def connect(
        self,
        user_id: uuid.UUID,
        conversations: Iterable[uuid.UUID] = (),
        *,
        session_id: uuid.UUID | None = None,
    ) -> SocketState:
        """A socket of `user_id`, member of (and listening to) `conversations`."""
        self._count += 1
        state = SocketState(
            sid=f"sid-{self._count}",
            # Unlike the socket id, so that a write by the wrong id reaches nobody.
            eio_sid=f"eio-{self._count}",
            user_id=user_id,
            username=f"user{self._count}",
            session_id=session_id or uuid.uuid4(),
        )
        self.hub.add(state)
        self.hub.join_member(state, conversations)
        return state

    def counter(self, name: str) -> float:
        value = self.metrics.registry.get_sample_value(name)
        assert value is not None, name
        return value


def new_scene(
    presence_coalesce_s: float = 0.0,
    *,
    transport: FakeTransport | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Scene:
    transport = transport or FakeTransport()
    metrics = Metrics()
    lookups = Lookups()
    hub = Hub(
        transport,
        metrics,
        circles_of=lookups.circles_of,
        conversations_of=lookups.conversations_of,
        presence_coalesce_s=presence_coalesce_s,
        clock=clock,
    )
    return Scene(hub, transport, metrics, lookups)


@pytest.fixture
def scene() -> Scene:
    return new_scene()


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def delivered(conversation_id: uuid.UUID, seq: int) -> MessagesDelivered:
    return MessagesDelivered(conversation_id, new_id(), new_id(), seq)


# Order ---------------------------------------------------------------------------------


async def test_a_socket_gets_packets_in_the_order_they_were_delivered(scene: Scene) -> None:
    cid = new_id()
    ann = scene.connect(new_id(), [cid])
    for seq in range(1, 21):
        await scene.hub.deliver(delivered(cid, seq).envelope())
    events = scene.transport.events(ann)
    assert [payload["seq"] for _, payload in events] == list(range(1, 21))
    assert {name for name, _ in events} == {"messages_delivered"}
    assert events[0][1]["conversationId"] == str(cid)
    assert scene.counter("hubbub_deliveries_total") == 20


# Audience ------------------------------------------------------------------------------


async def test_the_audience_is_the_union_of_room_users_and_contacts(scene: Scene) -> None:
    cid, other_cid = new_id(), new_id()
    ann_id, ben_id, cat_id, dan_id, eve_id = (new_id() for _ in range(5))
    ann = scene.connect(ann_id, [cid])
    ann_phone = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id, [other_cid])
    cat = scene.connect(cat_id)
    dan = scene.connect(dan_id, [other_cid])
    eve = scene.connect(eve_id)
    # Eve shares a conversation with Ann, a space with Cat and one who is offline.
    scene.lookups.knows(eve_id, [cid], [cat_id, new_id()])

    everyone = Envelope(
        "probe",
        {"n": 1},
        Audience(conversation_id=cid, user_ids=(ben_id, ann_id), contacts_of=eve_id),
    )
    await scene.hub.deliver(everyone)

    # Ann is in the room, named and a contact: one packet per socket all the same.
    # Eve, whose contacts they are, hears of herself on her other sockets.
    for got in (ann, ann_phone, ben, cat, eve):
        assert scene.transport.names(got) == ["probe"]
    # Dan is in another conversation and nobody's contact.
    assert scene.transport.names(dan) == []
    assert scene.counter("hubbub_deliveries_total") == 5


async def test_circles_read_ahead_serve_one_event_each_then_are_dropped(
    scene: Scene,
) -> None:
    ann_id, ben_id, cat_id, dan_id = (new_id() for _ in range(4))
    ann, ben, cat = scene.connect(ann_id), scene.connect(ben_id), scene.connect(cat_id)
    scene.lookups.knows(dan_id, space_contacts=[ann_id, ben_id])
    scene.lookups.knows(cat_id, space_contacts=[ben_id])
    at = datetime(2026, 1, 2, tzinfo=UTC)

    async with scene.hub.circles_read([dan_id, cat_id]):
        await scene.hub.deliver(UserOnline(dan_id, at).envelope())
        await scene.hub.deliver(UserOnline(cat_id, at).envelope())
    assert scene.lookups.asked_circles_of == [[dan_id, cat_id]]
    assert scene.transport.names(ann) == ["user_online"]
    assert scene.transport.names(ben) == ["user_online", "user_online"]
    assert [p["userId"] for _, p in scene.transport.events(cat)] == [str(cat_id)]  # her own

    # Read ahead for one event each: a later one about the same user reads again, and
    # sees what changed meanwhile.
    scene.lookups.knows(dan_id, space_contacts=[cat_id])
    await scene.hub.deliver(UserOnline(dan_id, at).envelope())
    assert scene.lookups.asked_circles_of == [[dan_id, cat_id], [dan_id]]
    assert [p["userId"] for _, p in scene.transport.events(cat)] == [str(cat_id), str(dan_id)]
    assert scene.transport.names(ann) == ["user_online"]


async def test_presence_reaches_members_who_do_not_hear_the_conversation(
    scene: Scene,
) -> None:
    """A user's presence goes to every member of their conversations: those hearing
    them, those who left the room (`leave_conversation`) and those whose membership was
    found on demand; a removed member no longer hears it."""
    cid = new_id()
    ann_id, ben_id, cat_id, dan_id, eve_id = (new_id() for _ in range(5))
    ann = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id, [cid])
    scene.hub.unlisten(ben, cid)
    cat = scene.connect(cat_id)
    scene.hub.add_member_quietly(cat, [cid])
    dan = scene.connect(dan_id, [cid])
    scene.hub.forget_membership(dan_id, cid)
    scene.lookups.knows(eve_id, [cid])

    await scene.hub.deliver(UserOnline(eve_id, datetime.now(UTC)).envelope())
    await scene.hub.deliver(Envelope("room", {}, Audience(conversation_id=cid)))

    assert scene.transport.names(ann) == ["user_online", "room"]
    assert scene.transport.names(ben) == ["user_online"]
    assert scene.transport.names(cat) == ["user_online"]
    assert scene.transport.names(dan) == []

    # Hearing it again, or gone, leaves no quiet membership behind.
    scene.hub.listen(ben, cid)
    scene.hub.remove(cat.sid)
    assert scene.hub.members(cid) == {ann.sid, ben.sid}


async def test_each_part_of_the_audience_alone(scene: Scene) -> None:
    cid = new_id()
    ann_id, ben_id, cat_id = new_id(), new_id(), new_id()
    ann = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id)
    cat = scene.connect(cat_id)
    scene.lookups.knows(cat_id, space_contacts=[ben_id])

    await scene.hub.deliver(Envelope("room", {}, Audience(conversation_id=cid)))
    await scene.hub.deliver(UnreadCount(cid, ben_id, 3, 3).envelope())
    await scene.hub.deliver(UserOnline(cat_id, datetime.now(UTC)).envelope())
    await scene.hub.deliver(Envelope("nobody", {}, Audience()))

    assert scene.transport.names(ann) == ["room"]
    assert scene.transport.names(ben) == ["unread_count", "user_online"]
    assert scene.transport.events(ben)[0][1] == {
        "conversationId": str(cid),
        "unreadCount": 3,
        "totalUnread": 3,
        "unreadMentions": 0,
    }
    assert scene.transport.names(cat) == ["user_online"]  # her own presence, on her socket


async def test_the_excluded_socket_and_user_are_left_out(scene: Scene) -> None:
    cid = new_id()
    ann_id, ben_id = new_id(), new_id()
    ann_laptop = scene.connect(ann_id, [cid])
    ann_phone = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id, [cid])

    # The sending socket hears `message_sent` instead: only that socket is left out.
    await scene.hub.deliver(
        Envelope(
            "new_message",
            {},
            Audience(conversation_id=cid, user_ids=(ann_id,), exclude_socket=ann_laptop.sid),
        )
    )
    assert scene.transport.names(ann_laptop) == []
    assert scene.transport.names(ann_phone) == ["new_message"]
    assert scene.transport.names(ben) == ["new_message"]

    # The typist's every socket is left out, even when named.
    await scene.hub.deliver(Typing(cid, ann_id, "ann").envelope())
    await scene.hub.deliver(
        Envelope(
            "stop_typing",
            StopTyping(cid, ann_id).envelope().payload,
            Audience(conversation_id=cid, user_ids=(ann_id,), exclude_user=ann_id),
        )
    )
    assert scene.transport.names(ann_laptop) == []
    assert scene.transport.names(ann_phone) == ["new_message"]
    assert scene.transport.names(ben) == ["new_message", "typing", "stop_typing"]
    assert scene.transport.events(ben)[1][1] == {
        "conversationId": str(cid),
        "userId": str(ann_id),
        "username": "ann",
    }


# Effects -------------------------------------------------------------------------------


async def test_joined_users_listen_before_the_event_is_written(scene: Scene) -> None:
    cid = new_id()
    ann_id, ben_id = new_id(), new_id()
    ann = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id)
    ben_phone = scene.connect(ben_id)

    # Addressed to the conversation alone: Ben hears it only if he listens already.
    joined = Envelope(
        "participant_added",
        {"userId": str(ben_id)},
        Audience(conversation_id=cid),
        Effect(conversation_id=cid, joined=(ben_id,)),
    )
    await scene.hub.deliver(joined)
    for got in (ann, ben, ben_phone):
        assert scene.transport.names(got) == ["participant_added"]
    assert cid in ben.conversations
    assert cid in scene.hub.listening(ben_phone)

    # And he goes on hearing the conversation.
    await scene.hub.deliver(delivered(cid, 1).envelope())
    for got in (ann, ben, ben_phone):
        assert scene.transport.names(got) == ["participant_added", "messages_delivered"]


async def test_a_removed_user_hears_the_removal_and_nothing_after(scene: Scene) -> None:
    cid, kept_cid = new_id(), new_id()
    ann_id, ben_id = new_id(), new_id()
    ann = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id, [cid, kept_cid])
    ben_phone = scene.connect(ben_id, [cid])

    await scene.hub.deliver(delivered(cid, 1).envelope())
    await scene.hub.deliver(ParticipantRemoved(cid, ben_id).envelope())
    await scene.hub.deliver(delivered(cid, 2).envelope())
    await scene.hub.deliver(Typing(cid, ann_id, "ann").envelope())
    await scene.hub.deliver(delivered(kept_cid, 1).envelope())

    removal = ["messages_delivered", "participant_removed"]
    assert scene.transport.names(ben_phone) == removal
    assert scene.transport.names(ben) == [*removal, "messages_delivered"]
    assert scene.transport.events(ben)[-1][1]["conversationId"] == str(kept_cid)
    assert scene.transport.names(ann) == [*removal, "messages_delivered"]
    assert set(ben.conversations) == {kept_cid}
    assert scene.hub.listening(ben) == {kept_cid}
    assert scene.hub.listening(ben_phone) == set()


async def test_a_membership_read_overtaken_by_a_removal_is_read_again(scene: Scene) -> None:
    """A handshake's or a join's read that started before a removal committed and ends
    after the hub applied the removal: applied as read, it would put the removed member
    back in the audience; the hub reads again instead, and the new read sees the removal."""
    cid = new_id()
    ann_id, ben_id = new_id(), new_id()
    ann = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id)
    answers = [[cid], []]  # the first read is from before the removal, the second after
    reads: list[list[uuid.UUID]] = []

    async def read() -> list[uuid.UUID]:
        reads.append(answers[len(reads)])
        if len(reads) == 1:  # the removal is delivered while the first read runs
            await scene.hub.deliver(ParticipantRemoved(cid, ben_id).envelope())
        return reads[-1]

    assert await scene.hub.admit([ben], read) == set()
    assert reads == [[cid], []]
    await scene.hub.deliver(Typing(cid, ann_id, "ann").envelope())
    assert scene.transport.names(ben) == ["participant_removed"]  # and nothing after
    assert set(ben.conversations) == scene.hub.listening(ben) == set()
    assert "typing" not in scene.transport.names(ann)  # Ann is its only sender
    assert scene.transport.names(ann) == ["participant_removed"]


async def test_a_membership_read_without_a_removal_meanwhile_is_applied(scene: Scene) -> None:
    cid, other = new_id(), new_id()
    ben = scene.connect(new_id())

    async def read() -> list[uuid.UUID]:
        # A removal of someone else meanwhile does not make Ben's read stale.
        await scene.hub.deliver(ParticipantRemoved(other, new_id()).envelope())
        return [cid]

    assert await scene.hub.admit([ben], read) == {cid}
    assert scene.hub.listening(ben) == {cid}


async def test_a_handshake_authenticated_before_its_session_ended_is_refused(
    scene: Scene,
) -> None:
    """Its token was read while the session was alive; the end was applied here before
    the socket was indexed, so `_cut` could not reach it: `add` refuses it instead."""
    ben_id, session_id = new_id(), new_id()

    def handshake(user_id: uuid.UUID, session: uuid.UUID, started: float) -> SocketState:
        return SocketState(
            sid=f"late-{new_id()}",
            eio_sid=f"late-eio-{new_id()}",
            user_id=user_id,
            username="ben",
            session_id=session,
            auth_started=started,
        )

    began = time.monotonic()
    await scene.hub.deliver(SessionEnded(session_id).envelope())
    assert scene.hub.add(handshake(ben_id, session_id, began)) is False
    await scene.hub.deliver(AccountClosed(ben_id).envelope())
    assert scene.hub.add(handshake(ben_id, new_id(), began)) is False
    assert scene.hub.sockets == {}
    # A handshake that began after the end read the database after it: let in.
    later = handshake(ben_id, new_id(), time.monotonic())
    assert scene.hub.add(later) is True


async def test_a_closed_account_loses_every_socket_of_every_session(scene: Scene) -> None:
    ann_id, ben_id = new_id(), new_id()
    ben_laptop, ben_phone = scene.connect(ben_id), scene.connect(ben_id)
    ann = scene.connect(ann_id)
    await scene.hub.deliver(AccountClosed(ben_id).envelope())
    assert sorted(scene.transport.disconnected) == sorted([ben_laptop.sid, ben_phone.sid])
    assert ann.sid not in scene.transport.disconnected
    assert scene.transport.names(ben_laptop) == []


async def test_leaving_takes_effect_after_the_event_addressed_to_the_room(
    scene: Scene,
) -> None:
    cid = new_id()
    ben_id = new_id()
    ben = scene.connect(ben_id, [cid])
    left = Envelope(
        "participant_removed",
        {},
        Audience(conversation_id=cid),
        Effect(conversation_id=cid, left=(ben_id,)),
    )
    await scene.hub.deliver(left)
    await scene.hub.deliver(delivered(cid, 1).envelope())
    assert scene.transport.names(ben) == ["participant_removed"]


async def test_an_ended_session_is_disconnected_and_sent_nothing(scene: Scene) -> None:
    cid = new_id()
    ann_id = new_id()
    ended, kept = new_id(), new_id()
    laptop = scene.connect(ann_id, [cid], session_id=ended)
    laptop_tab = scene.connect(ann_id, [cid], session_id=ended)
    phone = scene.connect(ann_id, [cid], session_id=kept)
    ben = scene.connect(new_id(), [cid])

    await scene.hub.deliver(SessionEnded(ended).envelope())

    assert sorted(scene.transport.disconnected) == sorted([laptop.sid, laptop_tab.sid])
    assert scene.transport.packets == {}
    assert scene.counter("hubbub_deliveries_total") == 0
    for got in (phone, ben):
        assert scene.transport.names(got) == []


# Slow and gone sockets -----------------------------------------------------------------


async def test_a_slow_socket_is_cut_and_counted_while_others_receive(scene: Scene) -> None:
    cid = new_id()
    fast = scene.connect(new_id(), [cid])
    slow = scene.connect(new_id(), [cid])
    queued = scene.connect(new_id(), [cid])
    scene.transport.answers[slow.eio_sid] = Sent.SLOW
    scene.transport.answers[queued.eio_sid] = Sent.QUEUED

    await scene.hub.deliver(delivered(cid, 1).envelope())

    assert scene.transport.disconnected == [slow.sid]
    assert scene.counter("hubbub_slow_consumer_disconnects_total") == 1
    assert scene.transport.names(fast) == ["messages_delivered"]
    assert scene.transport.names(queued) == ["messages_delivered"]
    assert scene.transport.names(slow) == []
    assert scene.counter("hubbub_deliveries_total") == 2
    assert scene.counter("hubbub_direct_writes_total") == 1


async def test_gone_sockets_are_skipped(scene: Scene) -> None:
    cid = new_id()
    alive = scene.connect(new_id(), [cid])
    gone = scene.connect(new_id(), [cid])
    scene.transport.answers[gone.eio_sid] = Sent.GONE

    await scene.hub.deliver(delivered(cid, 1).envelope())
    await scene.hub.deliver(delivered(cid, 2).envelope())

    assert [p["seq"] for _, p in scene.transport.events(alive)] == [1, 2]
    assert scene.transport.names(gone) == []
    # Closed already: neither cut again nor counted as slow or delivered.
    assert scene.transport.disconnected == []
    assert scene.counter("hubbub_slow_consumer_disconnects_total") == 0
    assert scene.counter("hubbub_deliveries_total") == 2


async def test_a_removed_socket_is_written_nothing(scene: Scene) -> None:
    cid = new_id()
    ann_id = new_id()
    stays = scene.connect(ann_id, [cid])
    leaves = scene.connect(ann_id, [cid])
    assert scene.hub.remove(leaves.sid) is leaves
    await scene.hub.deliver(
        Envelope("probe", {}, Audience(conversation_id=cid, user_ids=(ann_id,)))
    )
    assert scene.transport.names(stays) == ["probe"]
    assert scene.transport.names(leaves) == []


# Resync --------------------------------------------------------------------------------


async def test_resync_resets_memberships_from_the_database(scene: Scene) -> None:
    dropped, kept, missed = new_id(), new_id(), new_id()
    ann_id, ben_id = new_id(), new_id()
    ann = scene.connect(ann_id, [dropped, kept])
    ann_phone = scene.connect(ann_id, [dropped])
    ben = scene.connect(ben_id, [kept])
    # While the bus was away Ann left `dropped` and was added to `missed`.
    scene.lookups.conversations = {ann_id: [kept, missed], ben_id: [kept]}

    await scene.hub.resync()

    assert sorted(scene.lookups.asked_conversations_of) == sorted([ann_id, ben_id])
    for state in (ann, ann_phone):
        assert sorted(state.conversations) == sorted([kept, missed])  # once each
        assert scene.hub.listening(state) == {kept, missed}
    assert ben.conversations == (kept,)

    for cid in (dropped, kept, missed):
        await scene.hub.deliver(Envelope(str(cid), {}, Audience(conversation_id=cid)))
    assert sorted(scene.transport.names(ann)) == sorted([str(kept), str(missed)])
    assert sorted(scene.transport.names(ann_phone)) == sorted([str(kept), str(missed)])
    assert scene.transport.names(ben) == [str(kept)]


# Encoding ------------------------------------------------------------------------------


async def test_the_packet_is_encoded_once_for_every_recipient(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[Packet] = []
    real_encode = hub_module.encode_event

    def counting(name: str, payload: object) -> Packet:
        packet = real_encode(name, payload)
        encoded.append(packet)
        return packet

    monkeypatch.setattr(hub_module, "encode_event", counting)
    cid = new_id()
    sockets = [scene.connect(new_id(), [cid]) for _ in range(5)]
    await scene.hub.deliver(delivered(cid, 7).envelope())

    assert len(encoded) == 1
    for socket in sockets:
        (packet,) = scene.transport.packets[socket.eio_sid]
        assert packet is encoded[0]
    assert decode(encoded[0])[1]["seq"] == 7


async def test_sockets_share_one_id_object_per_conversation_in_a_tuple(
    scene: Scene,
) -> None:
    """Memory per idle socket: every socket of a conversation holds the hub's one UUID
    object for it (each handshake reads its own), in a tuple (a set of 20 is 2.2 KiB);
    whether it hears one is the index's rooms' to say, and a quiet member is still one."""
    cid = new_id()
    first = scene.connect(new_id(), [uuid.UUID(str(cid))])
    second = scene.connect(new_id(), [uuid.UUID(str(cid))])
    (held_first,) = first.conversations
    (held_second,) = second.conversations
    assert held_first == cid
    assert held_first is held_second
    assert type(first.conversations) is tuple
    assert scene.hub.listening(first) == {cid}

    scene.hub.unlisten(second, cid)
    assert second.conversations == (cid,)
    assert scene.hub.is_member(second, cid)
    assert not scene.hub.hears(second, cid)
    assert scene.hub.listening(second) == set()
    assert scene.hub.heard_by(cid) == {first.sid}
    assert scene.hub.members(cid) == {first.sid, second.sid}

    # The last socket hearing it gone, the hub lets go of its id.
    scene.hub.remove(first.sid)
    scene.hub.remove(second.sid)
    assert scene.hub.heard_by(cid) == set()
    assert scene.hub.members(cid) == set()


# Presence held and written together ----------------------------------------------------

WINDOW_S = 0.05


@pytest.fixture
def held_scene() -> Scene:
    return new_scene(presence_coalesce_s=WINDOW_S)


async def test_presence_is_held_then_written_in_one_write_per_socket(held_scene: Scene) -> None:
    scene = held_scene
    cid = new_id()
    ann_id, ben_id, cat_id, dan_id = (new_id() for _ in range(4))
    ann = scene.connect(ann_id, [cid])
    ben = scene.connect(ben_id, [cid])
    for uid in (cat_id, dan_id):
        scene.lookups.knows(uid, conversations=[cid])
    at = datetime.now(UTC)
    await scene.hub.deliver(UserOnline(cat_id, at).envelope())
    await scene.hub.deliver(delivered(cid, 1).envelope())  # not presence: at once
    await scene.hub.deliver(UserOnline(dan_id, at).envelope())
    await scene.hub.deliver(UserOffline(cat_id, at).envelope())
    assert scene.transport.names(ann) == ["messages_delivered"]
    assert scene.hub.held() == 2
    await asyncio.sleep(WINDOW_S * 3)
    for socket in (ann, ben):
        names = scene.transport.names(socket)
        assert names == ["messages_delivered", "user_online", "user_online", "user_offline"]
        assert scene.transport.batches[socket.eio_sid] == [3]
    online = [payload["userId"] for _, payload in scene.transport.events(ann)[1:3]]
    assert online == [str(cat_id), str(dan_id)]
    assert scene.hub.held() == 0
    assert scene.counter("hubbub_deliveries_total") == 2 + 6


async def test_held_presence_skips_sockets_gone_and_cuts_slow_ones(held_scene: Scene) -> None:
    scene = held_scene
    cid = new_id()
    ann = scene.connect(new_id(), [cid])
    ben = scene.connect(new_id(), [cid])
    cat = scene.connect(new_id(), [cid])
    dan_id = new_id()
    scene.lookups.knows(dan_id, conversations=[cid])
    await scene.hub.deliver(UserOnline(dan_id, datetime.now(UTC)).envelope())
    scene.hub.remove(ben.sid)
    scene.transport.answers[cat.eio_sid] = Sent.SLOW
    await asyncio.sleep(WINDOW_S * 3)
    assert scene.transport.names(ann) == ["user_online"]
    assert scene.transport.names(ben) == []
    assert scene.transport.disconnected == [cat.sid]


class CostlyTransport(FakeTransport):
    """Each write moves `clock` on by `cost` seconds, as a syscall takes time."""

    def __init__(self, clock: list[float], cost: float) -> None:
        super().__init__()
        self.clock = clock
        self.cost = cost

    def write_many(self, eio_sid: str, packets: list[Packet]) -> Sent:
        self.clock[0] += self.cost
        return super().write_many(eio_sid, packets)


async def test_the_presence_window_stretches_after_a_costly_round_and_comes_back() -> None:
    now = [0.0]
    transport = CostlyTransport(now, cost=0.001)
    scene = new_scene(presence_coalesce_s=WINDOW_S, transport=transport, clock=lambda: now[0])
    cid = new_id()
    sockets = [scene.connect(new_id(), [cid]) for _ in range(5)]
    dan_id = new_id()
    scene.lookups.knows(dan_id, conversations=[cid])
    assert scene.hub.presence_window() == WINDOW_S
    await scene.hub.deliver(UserOnline(dan_id, datetime.now(UTC)).envelope())
    await asyncio.sleep(WINDOW_S * 3)
    # Five writes of 1 ms: the next window is PRESENCE_STRETCH times that round.
    assert scene.hub.presence_window() == pytest.approx(5 * 0.001 * PRESENCE_STRETCH)
    assert all(scene.transport.names(s) == ["user_online"] for s in sockets)
    transport.cost = 0.0  # a cheap round: back to the configured window
    await scene.hub.deliver(UserOffline(dan_id, datetime.now(UTC)).envelope())
    await asyncio.sleep(5 * 0.001 * PRESENCE_STRETCH + WINDOW_S * 2)
    assert all(scene.transport.names(s) == ["user_online", "user_offline"] for s in sockets)
    assert scene.hub.presence_window() == WINDOW_S
    transport.cost = 10.0  # however costly, the window stays bounded
    await scene.hub.deliver(UserOnline(dan_id, datetime.now(UTC)).envelope())
    await asyncio.sleep(WINDOW_S * 3)
    assert scene.hub.presence_window() == PRESENCE_MOST_S


async def test_presence_still_held_at_close_is_dropped(held_scene: Scene) -> None:
    scene = held_scene
    cid = new_id()
    ann = scene.connect(new_id(), [cid])
    dan_id = new_id()
    scene.lookups.knows(dan_id, conversations=[cid])
    await scene.hub.deliver(UserOnline(dan_id, datetime.now(UTC)).envelope())
    await scene.hub.close()
    await asyncio.sleep(WINDOW_S * 3)
    assert scene.transport.names(ann) == []
    assert scene.hub.held() == 0

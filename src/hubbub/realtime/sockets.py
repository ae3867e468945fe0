"""The hub's index of this node's sockets: by user, by conversation heard, by membership.

Kept by `hubbub.realtime.hub.Hub` (which is a `SocketIndex`): the handshake adds a
socket, membership events and database reads change what it is a member of and what
it hears, a disconnect removes it. Fan-out reads it: a conversation's events go to the
sockets that hear it (`heard_by`); the presence of a user goes to the sockets of every
member of that user's conversations, heard or not (`members`), so that a room of 5,000
members costs a set union per `user_online` rather than a read of 5,000 contacts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from hubbub.domain.token_rules import ALL_SCOPES, Scope
from hubbub.realtime.channels import Interest

# The socket ids of a room, in a dict for its size (`SocketIndex.__init__`).
Room = dict[str, None]
_NOBODY: Room = {}  # never written to


@dataclass(slots=True)
class SocketState:
    sid: str
    eio_sid: str
    user_id: uuid.UUID
    username: str
    session_id: uuid.UUID
    # The conversations it is a member of (a cache of the database), heard or not, as a
    # tuple: 200 bytes for 20 where a set took 2.2 KiB, on every idle socket. Whether it
    # is a member of one, and whether it hears it, the index answers from its rooms
    # (`SocketIndex.is_member`, `SocketIndex.hears`); this is for walking them.
    conversations: tuple[uuid.UUID, ...] = ()
    # The conversations it is typing in: None until it first types (an empty set is
    # 216 bytes, and most sockets never type).
    typing_in: set[uuid.UUID] | None = None
    # When its handshake began authenticating (`time.monotonic()`): a session or account
    # ended here after that may have been read as still alive (`Hub.add`).
    auth_started: float = field(default_factory=time.monotonic)
    scopes: frozenset[Scope] = ALL_SCOPES  # an API token's; a login's session holds all

    def is_typing(self, conversation_id: uuid.UUID) -> bool:
        return self.typing_in is not None and conversation_id in self.typing_in

    def typing_started(self, conversation_id: uuid.UUID) -> None:
        if self.typing_in is None:
            self.typing_in = set()
        self.typing_in.add(conversation_id)

    def typing_stopped(self, conversation_id: uuid.UUID) -> None:
        if self.typing_in is not None:
            self.typing_in.discard(conversation_id)
            if not self.typing_in:
                self.typing_in = None

    def typing_where(self) -> list[uuid.UUID]:
        """The conversations it is typing in, as a list of its own."""
        return list(self.typing_in or ())


@dataclass(frozen=True, slots=True)
class Circle:
    """Who a user's presence reaches: the members of `conversations` (their ACTIVE
    ones) and `space_contacts` (who share a space with them), and the user."""

    conversations: frozenset[uuid.UUID]
    space_contacts: frozenset[uuid.UUID]


class SocketIndex:
    def __init__(self, interest: Interest) -> None:
        # Told when a conversation or a user gains its first socket here or loses its
        # last: the bus subscribes to their events (hubbub.realtime.channels).
        self._interest = interest
        self.sockets: dict[str, SocketState] = {}
        # A room is a dict of socket ids (to None), not a set: 272 bytes for 10 members
        # where a set takes 728, 104 KiB for 5,000 where a set takes 524 KiB (a set keeps
        # 16 bytes per slot at under 60 % full, a dict 24 per member and a byte per slot);
        # the same O(1) add, remove and lookup. 0.9 KiB per idle socket in 20 rooms of 10.
        self._by_conversation: dict[uuid.UUID, Room] = {}
        # One UUID object per conversation heard here, shared by every socket's tuple:
        # each handshake reads its own (20 conversations: ~2 KiB per idle socket).
        self._ids: dict[uuid.UUID, uuid.UUID] = {}
        # Sockets of members that do not hear the conversation (`leave_conversation`, or
        # a membership found on demand): rare, so kept apart from the heard index.
        self._quiet: dict[uuid.UUID, Room] = {}
        self._by_user: dict[uuid.UUID, set[str]] = {}
        # Per connected user: how many of their memberships this hub has removed.
        self._removals: dict[uuid.UUID, int] = {}

    def index(self, state: SocketState) -> None:
        self.sockets[state.sid] = state
        if state.user_id not in self._by_user:
            self._by_user[state.user_id] = set()
            self._interest.user(state.user_id, True)
        self._by_user[state.user_id].add(state.sid)

    def remove(self, sid: str) -> SocketState | None:
        state = self.sockets.pop(sid, None)
        if state is None:
            return None
        for cid in state.conversations:
            self._unlisten(cid, sid)  # in one of its two rooms, heard or quiet
            self._unquiet(cid, sid)
        user = self._by_user.get(state.user_id)
        if user is not None:
            user.discard(sid)
            if not user:
                del self._by_user[state.user_id]
                self._removals.pop(state.user_id, None)
                self._interest.user(state.user_id, False)
        return state

    @property
    def removal_marks(self) -> int:
        """Users whose removals this hub counts (each one has a socket here)."""
        return len(self._removals)

    def user_sockets(self, user_id: uuid.UUID) -> list[SocketState]:
        return [self.sockets[s] for s in self._by_user.get(user_id, ()) if s in self.sockets]

    def sids_of(self, user_id: uuid.UUID) -> set[str]:
        return self._by_user.get(user_id, set())

    def heard_by(self, conversation_id: uuid.UUID) -> Set[str]:
        return self._by_conversation.get(conversation_id, _NOBODY).keys()

    def hears(self, state: SocketState, conversation_id: uuid.UUID) -> bool:
        """Whether the socket receives the conversation's live events."""
        return state.sid in self._by_conversation.get(conversation_id, _NOBODY)

    def is_member(self, state: SocketState, conversation_id: uuid.UUID) -> bool:
        """Whether the socket's user is known here to be in the conversation."""
        if self.hears(state, conversation_id):
            return True
        return state.sid in self._quiet.get(conversation_id, _NOBODY)

    def listening(self, state: SocketState) -> set[uuid.UUID]:
        """The conversations whose live events the socket receives."""
        return {cid for cid in state.conversations if self.hears(state, cid)}

    def members(self, conversation_id: uuid.UUID) -> Set[str]:
        """The sockets here of the conversation's members, hearing it or not."""
        heard = self._by_conversation.get(conversation_id, _NOBODY).keys()
        quiet = self._quiet.get(conversation_id)
        return heard | quiet.keys() if quiet else heard

    def reached_by(self, user_id: uuid.UUID, circle: Circle) -> set[str]:
        """The sockets here that the presence of `user_id` reaches."""
        sids = set(self._by_user.get(user_id, ()))
        for cid in circle.conversations:
            sids.update(self.members(cid))
        for uid in circle.space_contacts:
            sids |= self._by_user.get(uid, set())
        return sids

    def listeners(self, conversation_id: uuid.UUID) -> set[uuid.UUID]:
        """The users with a socket of this node listening to the conversation."""
        sids = self._by_conversation.get(conversation_id, _NOBODY)
        return {self.sockets[s].user_id for s in sids if s in self.sockets}

    def join_member(self, state: SocketState, conversation_ids: Iterable[uuid.UUID]) -> None:
        """Memberships read or gained: known, and their events heard."""
        given = list(conversation_ids)
        self._learn(state, given)
        for cid in given:
            self._enter(state, cid)

    def add_member_quietly(self, state: SocketState, conversation_ids: Iterable[uuid.UUID]) -> None:
        """A membership found on demand: known, but its events not heard."""
        for cid in self._learn(state, conversation_ids):
            self._quiet.setdefault(cid, {})[state.sid] = None

    def listen(self, state: SocketState, conversation_id: uuid.UUID) -> None:
        self.join_member(state, (conversation_id,))

    def _learn(self, state: SocketState, conversation_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
        """Adds to the socket's own conversations, in one new tuple, those it was not
        known to be a member of, once each and as the UUID object the rooms share where
        there is one; returns those."""
        fresh: dict[uuid.UUID, uuid.UUID] = {}
        for cid in conversation_ids:
            if cid not in fresh and not self.is_member(state, cid):
                fresh[cid] = self._ids.get(cid, cid)
        if fresh:
            state.conversations = (*state.conversations, *fresh.values())
        return list(fresh.values())

    def _enter(self, state: SocketState, conversation_id: uuid.UUID) -> None:
        """Into the conversation's room of sockets that hear it (out of its quiet one)."""
        self._unquiet(conversation_id, state.sid)
        room = self._by_conversation.get(conversation_id)
        if room is None:
            room = self._by_conversation[conversation_id] = {}
            self._ids[conversation_id] = conversation_id
            self._interest.conversation(conversation_id, True)
        room[state.sid] = None

    def unlisten(self, state: SocketState, conversation_id: uuid.UUID) -> None:
        """A member that stops hearing the conversation: quiet in its room."""
        if not self.hears(state, conversation_id):
            return
        self._unlisten(conversation_id, state.sid)
        self._quiet.setdefault(conversation_id, {})[state.sid] = None

    def _unlisten(self, conversation_id: uuid.UUID, sid: str) -> None:
        room = self._by_conversation.get(conversation_id)
        if room is not None:
            room.pop(sid, None)
            if not room:
                del self._by_conversation[conversation_id]
                self._ids.pop(conversation_id, None)
                self._interest.conversation(conversation_id, False)

    def _unquiet(self, conversation_id: uuid.UUID, sid: str) -> None:
        quiet = self._quiet.get(conversation_id)
        if quiet is not None:
            quiet.pop(sid, None)
            if not quiet:
                del self._quiet[conversation_id]

    def forget_membership(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        if user_id in self._by_user:
            self._removals[user_id] = self._removals.get(user_id, 0) + 1
        for state in self.user_sockets(user_id):
            if self.is_member(state, conversation_id):
                state.conversations = tuple(c for c in state.conversations if c != conversation_id)
            state.typing_stopped(conversation_id)
            self._unlisten(conversation_id, state.sid)
            self._unquiet(conversation_id, state.sid)

    def reset_memberships(self, state: SocketState, conversation_ids: set[uuid.UUID]) -> None:
        """The socket's memberships as read again: every one heard, none other kept."""
        kept = {self._ids.get(cid, cid) for cid in conversation_ids}
        for cid in state.conversations:
            if cid not in kept:
                self._unlisten(cid, state.sid)
                self._unquiet(cid, state.sid)
        state.conversations = tuple(kept)
        for cid in kept:
            self._enter(state, cid)

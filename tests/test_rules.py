"""The permission rules (`hubbub.domain.rules`) as tables: pure unit tests, no database.

Every rule is asked for every role (OWNER, ADMIN, MODERATOR, MEMBER) and each flag,
target or kind it looks at. The tables below spell out every expected outcome: None
when the rule allows, else the message of the Forbidden it refuses with. Each case
checks the predicate (or the `*_refusal` function) and the `require_*` wrapper.
(tests/test_permissions.py asks the same questions through the API.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from hubbub.domain import file_rules, rules
from hubbub.domain.enums import ConversationType, FileKind, MessageStatus, MessageType, Role
from hubbub.domain.errors import Forbidden, HubbubError, NotFound

OWNER, ADMIN, MODERATOR, MEMBER = Role.OWNER, Role.ADMIN, Role.MODERATOR, Role.MEMBER
ROLES = (OWNER, ADMIN, MODERATOR, MEMBER)
KINDS = (ConversationType.PRIVATE, ConversationType.GROUP, ConversationType.SPACE)
ME, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)
OK = None

NOT_ADMIN = "Only the owner or an admin can do this"
CANNOT_SEND = "You cannot send messages in this conversation"
CANNOT_ATTACH = "You cannot send files in this conversation"
CANNOT_CHANGE_PRIVATE = "Private conversations cannot be changed this way"
ONLY_GROUPS = "Only group conversations change members this way"
PRIVATE_STAYS = "Nobody leaves or is removed from a private conversation"
SPACE_DECIDES = "Space conversations follow the space's membership"
CANNOT_ADD = "You cannot add members to this conversation"
NO_OWNERSHIP = "Ownership cannot be given this way"
NO_ROLE = "You cannot give that role"
NOT_YOURSELF = "You cannot change your own role or permissions"
MANAGE_BELOW = "You can only manage participants below your role"
CANNOT_REMOVE = "You cannot remove members from this conversation"
REMOVE_BELOW = "You can only remove participants below your role"
SENDER_EDITS = "Only the sender can edit a message"
SYSTEM_NO_EDIT = "System messages cannot be edited"
SYSTEM_NO_DELETE = "System messages cannot be deleted"
SENDER_OR_MODERATOR = "Only the sender or a moderator can delete a message"
NOT_SPACE_ADMIN = "Only the space owner or an admin can do this"
OWNER_STAYS = "The owner cannot leave or be removed from the space"
ADMINS_STAY = "Admins cannot remove other admins"
ABOVE_IN_SPACE = "You cannot manage someone above you in the space"


# Plain values in the shapes the rules read (the store's rows have the same attributes).


@dataclass(frozen=True)
class Person:
    role: Role
    user_id: uuid.UUID = ME
    can_send_messages: bool = True
    can_upload_files: bool = True
    can_add_members: bool = False
    can_remove_members: bool = False


@dataclass(frozen=True)
class Chat:
    type: ConversationType


@dataclass(frozen=True)
class Place:
    conversation: Chat
    me: Person


@dataclass(frozen=True)
class Post:
    sender_id: uuid.UUID
    type: MessageType = MessageType.TEXT
    status: MessageStatus = MessageStatus.SENT


@dataclass(frozen=True)
class Sender:
    can_send: bool


@dataclass(frozen=True)
class Upload:
    owner_id: uuid.UUID
    kind: FileKind


def seat(me: Person, kind: ConversationType = ConversationType.GROUP) -> Place:
    return Place(Chat(kind), me)


def flag(on: bool) -> str:
    return "on" if on else "off"


def check(
    expected: str | None, require: Callable[[], None], refusal: HubbubError | bool | None
) -> None:
    """The rule allows (`expected` None) or refuses with Forbidden(`expected`), both as its
    predicate (a bool) or refusal, and as its `require_*` wrapper."""
    if isinstance(refusal, bool):
        assert refusal is (expected is None)
    else:
        assert (refusal.message if refusal else None) == expected
    if expected is None:
        require()
        return
    with pytest.raises(Forbidden) as refused:
        require()
    assert refused.value.message == expected


def by_role(
    table: dict[Any, tuple[Any, ...]], columns: tuple[Any, ...], name: Callable[[Any], str]
) -> list[Any]:
    """One case per cell: (row key, column, expected)."""
    cases = []
    for key, row in table.items():
        assert len(row) == len(columns)
        label = "-".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
        for column, expected in zip(columns, row, strict=True):
            cases.append(pytest.param(key, column, expected, id=f"{label}-{name(column)}"))
    return cases


# Roles ---------------------------------------------------------------------------------

# actor: does it outrank a target of each role (OWNER, ADMIN, MODERATOR, MEMBER)?
OUTRANKS = {
    OWNER: (False, True, True, True),
    ADMIN: (False, False, True, True),
    MODERATOR: (False, False, False, True),
    MEMBER: (False, False, False, False),
}


@pytest.mark.parametrize(("actor", "target", "expected"), by_role(OUTRANKS, ROLES, str))
def test_outranks(actor: Role, target: Role, expected: bool) -> None:
    assert rules.outranks(actor, target) is expected


# role: (is_admin, moderates)
ROLE_KINDS = {
    OWNER: (True, True),
    ADMIN: (True, True),
    MODERATOR: (False, True),
    MEMBER: (False, False),
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"), by_role(ROLE_KINDS, ("is_admin", "moderates"), str)
)
def test_role_kinds(role: Role, rule: str, expected: bool) -> None:
    assert getattr(rules, rule)(role) is expected


# role: with every add/remove flag on, with every flag off (flags never make an admin)
ADMIN_ONLY = {
    OWNER: (OK, OK),
    ADMIN: (OK, OK),
    MODERATOR: (NOT_ADMIN, NOT_ADMIN),
    MEMBER: (NOT_ADMIN, NOT_ADMIN),
}


@pytest.mark.parametrize(("role", "powers", "expected"), by_role(ADMIN_ONLY, (True, False), flag))
def test_require_admin(role: Role, powers: bool, expected: str | None) -> None:
    me = Person(role, can_add_members=powers, can_remove_members=powers)
    check(expected, lambda: rules.require_admin(seat(me)), rules.is_admin(me.role))


# Sending -------------------------------------------------------------------------------

# role: with the flag on, off (canSendMessages, then canUploadFiles)
SEND = {
    OWNER: (OK, CANNOT_SEND),
    ADMIN: (OK, CANNOT_SEND),
    MODERATOR: (OK, CANNOT_SEND),
    MEMBER: (OK, CANNOT_SEND),
}
ATTACH = {
    OWNER: (OK, CANNOT_ATTACH),
    ADMIN: (OK, CANNOT_ATTACH),
    MODERATOR: (OK, CANNOT_ATTACH),
    MEMBER: (OK, CANNOT_ATTACH),
}


@pytest.mark.parametrize(("role", "on", "expected"), by_role(SEND, (True, False), flag))
def test_require_can_send(role: Role, on: bool, expected: str | None) -> None:
    me = Person(role, can_send_messages=on)
    check(expected, lambda: rules.require_can_send(seat(me)), rules.can_send(me))


@pytest.mark.parametrize(("on", "expected"), [(True, OK), (False, CANNOT_SEND)])
def test_require_sender_can_send(on: bool, expected: str | None) -> None:
    check(expected, lambda: rules.require_sender_can_send(Sender(on)), on)


@pytest.mark.parametrize(("role", "on", "expected"), by_role(ATTACH, (True, False), flag))
def test_require_can_attach(role: Role, on: bool, expected: str | None) -> None:
    me = Person(role, can_upload_files=on)
    check(expected, lambda: rules.require_can_attach(seat(me)), rules.can_attach(me))


# The kind of conversation --------------------------------------------------------------

# role: in a PRIVATE, GROUP, SPACE conversation
NOT_PRIVATE = {
    OWNER: (CANNOT_CHANGE_PRIVATE, OK, OK),
    ADMIN: (CANNOT_CHANGE_PRIVATE, OK, OK),
    MODERATOR: (CANNOT_CHANGE_PRIVATE, OK, OK),
    MEMBER: (CANNOT_CHANGE_PRIVATE, OK, OK),
}
GROUP_ONLY = {
    OWNER: (ONLY_GROUPS, OK, ONLY_GROUPS),
    ADMIN: (ONLY_GROUPS, OK, ONLY_GROUPS),
    MODERATOR: (ONLY_GROUPS, OK, ONLY_GROUPS),
    MEMBER: (ONLY_GROUPS, OK, ONLY_GROUPS),
}
BY_HAND = {
    OWNER: (PRIVATE_STAYS, OK, SPACE_DECIDES),
    ADMIN: (PRIVATE_STAYS, OK, SPACE_DECIDES),
    MODERATOR: (PRIVATE_STAYS, OK, SPACE_DECIDES),
    MEMBER: (PRIVATE_STAYS, OK, SPACE_DECIDES),
}


@pytest.mark.parametrize(("role", "kind", "expected"), by_role(NOT_PRIVATE, KINDS, str))
def test_require_not_private(role: Role, kind: ConversationType, expected: str | None) -> None:
    place = seat(Person(role), kind)
    check(expected, lambda: rules.require_not_private(place), kind != ConversationType.PRIVATE)


@pytest.mark.parametrize(("role", "kind", "expected"), by_role(GROUP_ONLY, KINDS, str))
def test_require_group(role: Role, kind: ConversationType, expected: str | None) -> None:
    place = seat(Person(role), kind)
    check(expected, lambda: rules.require_group(place), kind == ConversationType.GROUP)


@pytest.mark.parametrize(("role", "kind", "expected"), by_role(BY_HAND, KINDS, str))
def test_require_membership_by_hand(
    role: Role, kind: ConversationType, expected: str | None
) -> None:
    place = seat(Person(role), kind)
    check(expected, lambda: rules.require_membership_by_hand(place), rules.membership_refusal(kind))


# Members of a conversation -------------------------------------------------------------

# role: with canAddMembers on, off
ADD = {OWNER: (OK, OK), ADMIN: (OK, OK), MODERATOR: (OK, CANNOT_ADD), MEMBER: (OK, CANNOT_ADD)}


@pytest.mark.parametrize(("role", "on", "expected"), by_role(ADD, (True, False), flag))
def test_require_can_add_members(role: Role, on: bool, expected: str | None) -> None:
    me = Person(role, can_add_members=on)
    check(expected, lambda: rules.require_can_add_members(seat(me)), rules.can_add_members(me))


# role: the highest role it may give with canAddMembers on, off
HIGHEST = {
    OWNER: (ADMIN, ADMIN),
    ADMIN: (MODERATOR, MODERATOR),
    MODERATOR: (MEMBER, None),
    MEMBER: (MEMBER, None),
}


@pytest.mark.parametrize(("role", "on", "expected"), by_role(HIGHEST, (True, False), flag))
def test_highest_grantable(role: Role, on: bool, expected: Role | None) -> None:
    assert rules.highest_grantable(Person(role, can_add_members=on)) == expected


# (giver, canAddMembers): giving OWNER, ADMIN, MODERATOR, MEMBER
GRANT = {
    (OWNER, True): (NO_OWNERSHIP, OK, OK, OK),
    (OWNER, False): (NO_OWNERSHIP, OK, OK, OK),
    (ADMIN, True): (NO_OWNERSHIP, NO_ROLE, OK, OK),
    (ADMIN, False): (NO_OWNERSHIP, NO_ROLE, OK, OK),
    (MODERATOR, True): (NO_OWNERSHIP, NO_ROLE, NO_ROLE, OK),
    (MODERATOR, False): (NO_OWNERSHIP, NO_ROLE, NO_ROLE, NO_ROLE),
    (MEMBER, True): (NO_OWNERSHIP, NO_ROLE, NO_ROLE, OK),
    (MEMBER, False): (NO_OWNERSHIP, NO_ROLE, NO_ROLE, NO_ROLE),
}


@pytest.mark.parametrize(("giver", "role", "expected"), by_role(GRANT, ROLES, str))
def test_require_can_grant_role(giver: tuple[Role, bool], role: Role, expected: str | None) -> None:
    me = Person(giver[0], can_add_members=giver[1])
    check(
        expected,
        lambda: rules.require_can_grant_role(seat(me), role),
        rules.grant_refusal(me, role),
    )


# (actor, add/remove flags): managing another participant who is OWNER, ADMIN, MODERATOR, MEMBER
MANAGE = {
    (OWNER, True): (MANAGE_BELOW, OK, OK, OK),
    (OWNER, False): (MANAGE_BELOW, OK, OK, OK),
    (ADMIN, True): (MANAGE_BELOW, MANAGE_BELOW, OK, OK),
    (ADMIN, False): (MANAGE_BELOW, MANAGE_BELOW, OK, OK),
    (MODERATOR, True): (NOT_ADMIN, NOT_ADMIN, NOT_ADMIN, NOT_ADMIN),
    (MODERATOR, False): (NOT_ADMIN, NOT_ADMIN, NOT_ADMIN, NOT_ADMIN),
    (MEMBER, True): (NOT_ADMIN, NOT_ADMIN, NOT_ADMIN, NOT_ADMIN),
    (MEMBER, False): (NOT_ADMIN, NOT_ADMIN, NOT_ADMIN, NOT_ADMIN),
}
# actor: managing itself
MANAGE_SELF = {
    OWNER: NOT_YOURSELF,
    ADMIN: NOT_YOURSELF,
    MODERATOR: NOT_YOURSELF,
    MEMBER: NOT_YOURSELF,
}


@pytest.mark.parametrize(("actor", "target", "expected"), by_role(MANAGE, ROLES, str))
def test_require_can_manage(actor: tuple[Role, bool], target: Role, expected: str | None) -> None:
    me = Person(actor[0], can_add_members=actor[1], can_remove_members=actor[1])
    them = Person(target, user_id=OTHER)
    check(
        expected, lambda: rules.require_can_manage(seat(me), them), rules.manage_refusal(me, them)
    )


@pytest.mark.parametrize(("actor", "expected"), list(MANAGE_SELF.items()), ids=str)
def test_require_can_manage_oneself(actor: Role, expected: str) -> None:
    me = Person(actor, can_add_members=True, can_remove_members=True)
    check(expected, lambda: rules.require_can_manage(seat(me), me), rules.manage_refusal(me, me))


# (actor, canRemoveMembers): removing another participant who is OWNER, ADMIN, MODERATOR, MEMBER
REMOVE = {
    (OWNER, True): (REMOVE_BELOW, OK, OK, OK),
    (OWNER, False): (REMOVE_BELOW, OK, OK, OK),
    (ADMIN, True): (REMOVE_BELOW, REMOVE_BELOW, OK, OK),
    (ADMIN, False): (REMOVE_BELOW, REMOVE_BELOW, OK, OK),
    (MODERATOR, True): (REMOVE_BELOW, REMOVE_BELOW, REMOVE_BELOW, OK),
    (MODERATOR, False): (CANNOT_REMOVE, CANNOT_REMOVE, CANNOT_REMOVE, CANNOT_REMOVE),
    (MEMBER, True): (REMOVE_BELOW, REMOVE_BELOW, REMOVE_BELOW, REMOVE_BELOW),
    (MEMBER, False): (CANNOT_REMOVE, CANNOT_REMOVE, CANNOT_REMOVE, CANNOT_REMOVE),
}


@pytest.mark.parametrize(("actor", "target", "expected"), by_role(REMOVE, ROLES, str))
def test_require_can_remove(actor: tuple[Role, bool], target: Role, expected: str | None) -> None:
    me = Person(actor[0], can_remove_members=actor[1])
    them = Person(target, user_id=OTHER)
    check(
        expected, lambda: rules.require_can_remove(seat(me), them), rules.removal_refusal(me, them)
    )


# The roles of the ACTIVE participants left, longest-standing first -> the heir's position.
HEIRS = [
    ((), None),
    ((MEMBER,), 0),
    ((MEMBER, MEMBER), 0),
    ((MEMBER, ADMIN), 1),
    ((MEMBER, MODERATOR), 1),
    ((MODERATOR, MEMBER, MODERATOR), 0),
    ((MEMBER, MODERATOR, ADMIN, ADMIN), 2),
    ((OWNER, MEMBER), 1),
    ((OWNER, ADMIN, MODERATOR, MEMBER), 1),
    ((OWNER,), 0),
    ((OWNER, OWNER), 0),
]


@pytest.mark.parametrize(
    ("standing", "expected"), HEIRS, ids=[",".join(roles) or "nobody" for roles, _ in HEIRS]
)
def test_choose_heir(standing: tuple[Role, ...], expected: int | None) -> None:
    candidates = [Person(role, user_id=uuid.UUID(int=10 + i)) for i, role in enumerate(standing)]
    heir = rules.choose_heir(candidates)
    assert heir is (None if expected is None else candidates[expected])


# Messages ------------------------------------------------------------------------------

POSTS = {
    "own": Post(ME),
    "own-system": Post(ME, MessageType.SYSTEM),
    "other": Post(OTHER),
    "other-system": Post(OTHER, MessageType.SYSTEM),
}
# role: editing, then deleting, each message of POSTS
EDIT = {
    OWNER: (OK, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
    ADMIN: (OK, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
    MODERATOR: (OK, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
    MEMBER: (OK, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
}
DELETE = {
    OWNER: (OK, SYSTEM_NO_DELETE, OK, SYSTEM_NO_DELETE),
    ADMIN: (OK, SYSTEM_NO_DELETE, OK, SYSTEM_NO_DELETE),
    MODERATOR: (OK, SYSTEM_NO_DELETE, OK, SYSTEM_NO_DELETE),
    MEMBER: (OK, SYSTEM_NO_DELETE, SENDER_OR_MODERATOR, SYSTEM_NO_DELETE),
}


@pytest.mark.parametrize(("role", "post", "expected"), by_role(EDIT, tuple(POSTS), str))
def test_require_can_edit(role: Role, post: str, expected: str | None) -> None:
    me, message = Person(role), POSTS[post]
    check(
        expected, lambda: rules.require_can_edit(seat(me), message), rules.edit_refusal(me, message)
    )


# role, muted (canSendMessages off): editing, then deleting, each message of POSTS. A muted
# member may not change what others read, but may take their own words back.
EDIT_MUTED = {
    OWNER: (CANNOT_SEND, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
    ADMIN: (CANNOT_SEND, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
    MODERATOR: (CANNOT_SEND, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
    MEMBER: (CANNOT_SEND, SYSTEM_NO_EDIT, SENDER_EDITS, SENDER_EDITS),
}
DELETE_MUTED = DELETE


@pytest.mark.parametrize(("role", "post", "expected"), by_role(EDIT_MUTED, tuple(POSTS), str))
def test_require_can_edit_while_muted(role: Role, post: str, expected: str | None) -> None:
    me, message = Person(role, can_send_messages=False), POSTS[post]
    check(
        expected, lambda: rules.require_can_edit(seat(me), message), rules.edit_refusal(me, message)
    )


@pytest.mark.parametrize(("role", "post", "expected"), by_role(DELETE_MUTED, tuple(POSTS), str))
def test_require_can_delete_while_muted(role: Role, post: str, expected: str | None) -> None:
    me, message = Person(role, can_send_messages=False), POSTS[post]
    check(
        expected,
        lambda: rules.require_can_delete(seat(me), message),
        rules.delete_refusal(me, message),
    )


# role: adding a reaction with canSendMessages on, off; then removing one's own, on, off.
# Adding is a send-like change (it reaches everyone); removing one's own takes it back.
REACT = {
    OWNER: (OK, CANNOT_SEND, OK, OK),
    ADMIN: (OK, CANNOT_SEND, OK, OK),
    MODERATOR: (OK, CANNOT_SEND, OK, OK),
    MEMBER: (OK, CANNOT_SEND, OK, OK),
}
REACTIONS = (("add", True), ("add", False), ("remove", True), ("remove", False))


@pytest.mark.parametrize(
    ("role", "change", "expected"), by_role(REACT, REACTIONS, lambda c: f"{c[0]}-{flag(c[1])}")
)
def test_require_can_react(role: Role, change: tuple[str, bool], expected: str | None) -> None:
    adding, me = change[0] == "add", Person(role, can_send_messages=change[1])
    check(
        expected,
        lambda: rules.require_can_react(seat(me), add=adding),
        rules.reaction_refusal(me, add=adding),
    )


@pytest.mark.parametrize(("role", "post", "expected"), by_role(DELETE, tuple(POSTS), str))
def test_require_can_delete(role: Role, post: str, expected: str | None) -> None:
    me, message = Person(role), POSTS[post]
    check(
        expected,
        lambda: rules.require_can_delete(seat(me), message),
        rules.delete_refusal(me, message),
    )


# status: is the message gone (NotFound) for editing and reacting? (Whoever asks.)
GONE = {
    MessageStatus.PENDING: False,
    MessageStatus.SENT: False,
    MessageStatus.DELIVERED: False,
    MessageStatus.READ: False,
    MessageStatus.FAILED: False,
    MessageStatus.DELETED: True,
}


@pytest.mark.parametrize(("status", "gone"), list(GONE.items()), ids=str)
def test_require_not_deleted(status: MessageStatus, gone: bool) -> None:
    message = replace(Post(OTHER), status=status)
    assert rules.is_deleted(message) is gone
    if not gone:
        rules.require_not_deleted(message)
        return
    with pytest.raises(NotFound) as refused:
        rules.require_not_deleted(message)
    assert refused.value.code == "message_not_found"


# Files ---------------------------------------------------------------------------------

# whose upload: of each kind (avatar, attachment), is it open to the caller without a message?
OPEN_FILES = {"own": (True, True), "other": (True, False)}


@pytest.mark.parametrize(
    ("whose", "kind", "expected"),
    by_role(OPEN_FILES, (FileKind.AVATAR, FileKind.MESSAGE_ATTACHMENT), str),
)
def test_file_open_to(whose: str, kind: FileKind, expected: bool) -> None:
    stored = Upload(ME if whose == "own" else OTHER, kind)
    assert file_rules.file_open_to(stored, ME) is expected


# in use now (a live carrier or an avatar), carried once, fresh -> does a signed URL serve?
SIGNED_SERVES = [
    (True, True, False, False, True),
    (False, True, False, False, True),
    (False, False, True, True, False),  # every carrying message deleted, however recent
    (False, False, False, True, True),  # an upload not yet used: its own URL
    (False, False, False, False, False),  # an avatar replaced long ago
]


@pytest.mark.parametrize(("live", "avatar", "carried", "fresh", "expected"), SIGNED_SERVES)
def test_signed_url_serves(
    live: bool, avatar: bool, carried: bool, fresh: bool, expected: bool
) -> None:
    served = file_rules.signed_url_serves(
        carried=carried or live, carried_live=live, current_avatar=avatar, fresh=fresh
    )
    assert served is expected


@pytest.mark.parametrize(
    ("whose", "kind", "expected"),
    [
        ("own", FileKind.AVATAR, True),
        ("own", FileKind.MESSAGE_ATTACHMENT, False),
        ("other", FileKind.AVATAR, False),
    ],
)
def test_avatar_choosable(whose: str, kind: FileKind, expected: bool) -> None:
    stored = Upload(ME if whose == "own" else OTHER, kind)
    assert file_rules.avatar_choosable(stored, ME) is expected
    assert file_rules.avatar_choosable(None, ME) is False


# Presence ------------------------------------------------------------------------------

# whose isOnline and lastSeen the viewer (ME) asks for, with OTHER a contact or not:
# (oneself, the other) -> shown?
THIRD = uuid.UUID(int=3)
PRESENCE = {"contact": (True, True), "stranger": (True, False), "no-contacts": (True, False)}
CONTACTS = {"contact": {ME, OTHER, THIRD}, "stranger": {ME, THIRD}, "no-contacts": set()}


@pytest.mark.parametrize(
    ("other", "subject", "expected"), by_role(PRESENCE, (ME, OTHER), lambda u: f"user{u.int}")
)
def test_sees_presence(other: str, subject: uuid.UUID, expected: bool) -> None:
    assert rules.sees_presence(ME, subject, CONTACTS[other]) is expected


# Spaces --------------------------------------------------------------------------------

SPACE_ADMIN = {OWNER: OK, ADMIN: OK, MODERATOR: NOT_SPACE_ADMIN, MEMBER: NOT_SPACE_ADMIN}


@pytest.mark.parametrize(("role", "expected"), list(SPACE_ADMIN.items()), ids=str)
def test_require_space_admin(role: Role, expected: str | None) -> None:
    me = Person(role)
    check(expected, lambda: rules.require_space_admin(me), rules.is_admin(role))


# actor: removing another member who is OWNER, ADMIN, MODERATOR, MEMBER
SPACE_REMOVE = {
    OWNER: (OWNER_STAYS, OK, OK, OK),
    ADMIN: (OWNER_STAYS, ADMINS_STAY, OK, OK),
    MODERATOR: (NOT_SPACE_ADMIN, NOT_SPACE_ADMIN, NOT_SPACE_ADMIN, NOT_SPACE_ADMIN),
    MEMBER: (NOT_SPACE_ADMIN, NOT_SPACE_ADMIN, NOT_SPACE_ADMIN, NOT_SPACE_ADMIN),
}
# actor: leaving
SPACE_LEAVE = {OWNER: OWNER_STAYS, ADMIN: OK, MODERATOR: OK, MEMBER: OK}


@pytest.mark.parametrize(("actor", "target", "expected"), by_role(SPACE_REMOVE, ROLES, str))
def test_require_can_remove_from_space(actor: Role, target: Role, expected: str | None) -> None:
    me, them = Person(actor), Person(target, user_id=OTHER)
    refusal = rules.space_removal_refusal(me, them)
    check(expected, lambda: rules.require_can_remove_from_space(me, them), refusal)


@pytest.mark.parametrize(("actor", "expected"), list(SPACE_LEAVE.items()), ids=str)
def test_leaving_a_space(actor: Role, expected: str | None) -> None:
    me = Person(actor)
    refusal = rules.space_removal_refusal(me, me)
    check(expected, lambda: rules.require_can_remove_from_space(me, me), refusal)


# space role: the role in a conversation of the space, for its creator and for anyone else
# (the space's owner owns every conversation of the space, whoever made it; a plain member
# who makes one is its admin, never above the space's owner or level with it)
SPACE_CONVERSATION_ROLE = {
    OWNER: (OWNER, OWNER),
    ADMIN: (ADMIN, ADMIN),
    MODERATOR: (ADMIN, MEMBER),
    MEMBER: (ADMIN, MEMBER),
}


@pytest.mark.parametrize(
    ("role", "creator", "expected"),
    by_role(SPACE_CONVERSATION_ROLE, (True, False), lambda c: "creator" if c else "not-creator"),
)
def test_space_conversation_role(role: Role, creator: bool, expected: Role) -> None:
    member = Person(role)
    made_by = ME if creator else OTHER
    assert rules.space_conversation_role(member, creator=made_by) == expected


# actor's space role: managing (mute, role) in a SPACE conversation someone whose space
# role is OWNER, ADMIN, MODERATOR, MEMBER (whatever either's conversation role is)
SPACE_RANK = {
    OWNER: (OK, OK, OK, OK),
    ADMIN: (ABOVE_IN_SPACE, OK, OK, OK),
    MODERATOR: (ABOVE_IN_SPACE, ABOVE_IN_SPACE, OK, OK),
    MEMBER: (ABOVE_IN_SPACE, ABOVE_IN_SPACE, ABOVE_IN_SPACE, OK),
}


@pytest.mark.parametrize(("mine", "theirs", "expected"), by_role(SPACE_RANK, ROLES, str))
def test_require_space_rank(mine: Role, theirs: Role, expected: str | None) -> None:
    refusal = rules.space_rank_refusal(mine, theirs)
    check(expected, lambda: rules.require_space_rank(mine, theirs), refusal)

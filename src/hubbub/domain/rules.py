"""Who may do what: the permission rules, as pure functions of plain values.

At the bottom of the flow with the rest of `hubbub.domain`. An action loads what a rule
looks at (the caller's participant row, the conversation, the message, the space
membership) through `hubbub.store.access`, in its own transaction, from the database
state (never from what the client says about itself), then asks the rules here. They
read their inputs through the small protocols of `hubbub.domain.rule_inputs`, which the
store's rows satisfy as they are, and never touch the database (tests/test_rules.py
tests them as tables). `hubbub.store.access` already answered NotFound to a caller who
is not an ACTIVE participant; these checks come after and say Forbidden, as the caller
knows the conversation exists.

Each rule is a predicate (`can_*`, `is_*`) or, where a refusal has more than one reason,
a `*_refusal` function returning the error that names it (None: allowed); `require_*`
raises it. One condition per line, so each can be read and tested on its own. The rules
of files (who may download, what a signed URL still gets, what may be an avatar) are
`hubbub.domain.file_rules`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import TypeVar

from hubbub.domain.enums import ConversationType, MessageStatus, MessageType, Role
from hubbub.domain.errors import Forbidden, HubbubError, NotFound
from hubbub.domain.rule_inputs import (
    Member,
    MessageLike,
    Ranked,
    Seat,
    SenderSeat,
)

ROLE_RANK = {Role.OWNER: 4, Role.ADMIN: 3, Role.MODERATOR: 2, Role.MEMBER: 1}

_R = TypeVar("_R", bound=Ranked)


def _raise(refusal: HubbubError | None) -> None:
    if refusal is not None:
        raise refusal


# What a caller without access is told --------------------------------------------------


def conversation_not_found() -> NotFound:
    return NotFound("Conversation not found", code="conversation_not_found")


def message_not_found() -> NotFound:
    return NotFound("Message not found", code="message_not_found")


def space_not_found() -> NotFound:
    return NotFound("Space not found", code="space_not_found")


# Roles ---------------------------------------------------------------------------------


def outranks(actor: Role, target: Role) -> bool:
    return ROLE_RANK[actor] > ROLE_RANK[target]


def is_admin(role: Role) -> bool:
    """OWNER or ADMIN (of a conversation or of a space); they also get the add and remove
    members flags whenever they are given the role."""
    return role in (Role.OWNER, Role.ADMIN)


def moderates(role: Role) -> bool:
    """MODERATOR or above: may delete other people's messages."""
    return ROLE_RANK[role] >= ROLE_RANK[Role.MODERATOR]


def not_admin() -> Forbidden:
    return Forbidden("Only the owner or an admin can do this")


def require_admin(access: Seat) -> None:
    if not is_admin(access.me.role):
        raise not_admin()


# Sending -------------------------------------------------------------------------------


def cannot_send() -> Forbidden:
    return Forbidden("You cannot send messages in this conversation")


def can_send(me: Member) -> bool:
    return me.can_send_messages


def require_can_send(access: Seat) -> None:
    if not can_send(access.me):
        raise cannot_send()


def require_sender_can_send(access: SenderSeat) -> None:
    if not access.can_send:
        raise cannot_send()


def can_attach(me: Member) -> bool:
    return me.can_upload_files


def require_can_attach(access: Seat) -> None:
    if not can_attach(access.me):
        raise Forbidden("You cannot send files in this conversation")


# The kind of conversation --------------------------------------------------------------


def require_not_private(access: Seat) -> None:
    if access.conversation.type == ConversationType.PRIVATE:
        raise Forbidden("Private conversations cannot be changed this way")


def require_group(access: Seat) -> None:
    if access.conversation.type != ConversationType.GROUP:
        raise Forbidden("Only group conversations change members this way")


def membership_refusal(kind: ConversationType) -> Forbidden | None:
    """Leaving, or removing someone, by hand: a private conversation keeps its pair, a
    SPACE conversation follows the space's membership."""
    if kind == ConversationType.PRIVATE:
        return Forbidden("Nobody leaves or is removed from a private conversation")
    if kind == ConversationType.SPACE:
        return Forbidden("Space conversations follow the space's membership")
    return None


def require_membership_by_hand(access: Seat) -> None:
    _raise(membership_refusal(access.conversation.type))


# Members of a conversation -------------------------------------------------------------


def can_add_members(me: Member) -> bool:
    if is_admin(me.role):
        return True
    return me.can_add_members


def require_can_add_members(access: Seat) -> None:
    if not can_add_members(access.me):
        raise Forbidden("You cannot add members to this conversation")


def highest_grantable(me: Member) -> Role | None:
    """The highest role `me` may give: below their own for an OWNER or ADMIN, MEMBER for
    anyone else allowed to add members, none otherwise."""
    if me.role == Role.OWNER:
        return Role.ADMIN
    if me.role == Role.ADMIN:
        return Role.MODERATOR
    if me.can_add_members:
        return Role.MEMBER
    return None


def grant_refusal(me: Member, role: Role) -> Forbidden | None:
    """Roles given (on add or change) must be below the giver's own; OWNER is never given."""
    if role == Role.OWNER:
        return Forbidden("Ownership cannot be given this way")
    highest = highest_grantable(me)
    if highest is None:
        return Forbidden("You cannot give that role")
    if outranks(role, highest):
        return Forbidden("You cannot give that role")
    return None


def require_can_grant_role(access: Seat, role: Role) -> None:
    _raise(grant_refusal(access.me, role))


def manage_refusal(me: Member, target: Ranked) -> Forbidden | None:
    """Change another participant's role or permissions: OWNER/ADMIN, of a lower role."""
    if target.user_id == me.user_id:
        return Forbidden("You cannot change your own role or permissions")
    if not is_admin(me.role):
        return not_admin()
    if not outranks(me.role, target.role):
        return Forbidden("You can only manage participants below your role")
    return None


def require_can_manage(access: Seat, target: Ranked) -> None:
    _raise(manage_refusal(access.me, target))


def can_remove_members(me: Member) -> bool:
    if is_admin(me.role):
        return True
    return me.can_remove_members


def removal_refusal(me: Member, target: Ranked) -> Forbidden | None:
    """Remove another participant: OWNER/ADMIN or canRemoveMembers, of a lower role.
    (Leaving is not removing: anyone may leave a group.)"""
    if not can_remove_members(me):
        return Forbidden("You cannot remove members from this conversation")
    if not outranks(me.role, target.role):
        return Forbidden("You can only remove participants below your role")
    return None


def require_can_remove(access: Seat, target: Ranked) -> None:
    _raise(removal_refusal(access.me, target))


# Ranks the heir of a leaving owner: an admin first, a member last, and another owner only
# when nobody else is left.
_HEIR_ORDER = {Role.ADMIN: 0, Role.MODERATOR: 1, Role.MEMBER: 2, Role.OWNER: 3}


def choose_heir(candidates: Sequence[_R]) -> _R | None:
    """An owner who leaves passes the group to the longest-standing, highest-ranked member.

    `candidates`: the ACTIVE participants left, longest-standing first (min keeps the
    first of equals).
    """
    if not candidates:
        return None
    return min(candidates, key=lambda p: _HEIR_ORDER[p.role])


# Messages ------------------------------------------------------------------------------


def edit_refusal(me: Member, message: MessageLike) -> Forbidden | None:
    """An edit changes what everyone reads: the sender's own, and not while muted
    (canSendMessages off answers as a send would)."""
    if message.sender_id != me.user_id:
        return Forbidden("Only the sender can edit a message")
    if message.type == MessageType.SYSTEM:
        return Forbidden("System messages cannot be edited")
    if not can_send(me):
        return cannot_send()
    return None


def require_can_edit(access: Seat, message: MessageLike) -> None:
    _raise(edit_refusal(access.me, message))


def delete_refusal(me: Ranked, message: MessageLike) -> Forbidden | None:
    if message.type == MessageType.SYSTEM:
        return Forbidden("System messages cannot be deleted")
    if message.sender_id == me.user_id:
        return None
    if moderates(me.role):
        return None
    return Forbidden("Only the sender or a moderator can delete a message")


def require_can_delete(access: Seat, message: MessageLike) -> None:
    """(Muted or not: deleting takes words back, it adds none.)"""
    _raise(delete_refusal(access.me, message))


def reaction_refusal(me: Member, *, add: bool) -> Forbidden | None:
    """Adding a reaction reaches everyone like a send: refused while muted. Removing
    one's own takes it back, and is always allowed."""
    if not add:
        return None
    if not can_send(me):
        return cannot_send()
    return None


def require_can_react(access: Seat, *, add: bool) -> None:
    _raise(reaction_refusal(access.me, add=add))


def is_deleted(message: MessageLike) -> bool:
    return message.status == MessageStatus.DELETED


def require_not_deleted(message: MessageLike) -> None:
    """A deleted message is gone for editing and reacting: NotFound, like one never sent."""
    if is_deleted(message):
        raise message_not_found()


# Presence ------------------------------------------------------------------------------


def sees_presence(viewer: uuid.UUID, subject: uuid.UUID, contacts: Collection[uuid.UUID]) -> bool:
    """Is `viewer` shown `subject`'s isOnline and lastSeen (null otherwise)? Themself, or
    one of their `contacts`: who share an ACTIVE conversation or a space with them."""
    if subject == viewer:
        return True
    return subject in contacts


# Spaces --------------------------------------------------------------------------------


def not_space_admin() -> Forbidden:
    return Forbidden("Only the space owner or an admin can do this")


def require_space_admin(member: Ranked) -> None:
    if not is_admin(member.role):
        raise not_space_admin()


def space_removal_refusal(me: Ranked, target: Ranked) -> Forbidden | None:
    """Take `target` out of a space: anyone but the owner may leave; the owner and the
    admins may remove members below them (so an admin no other admin), never the owner."""
    if target.user_id == me.user_id:
        return owner_stays() if me.role == Role.OWNER else None
    if not is_admin(me.role):
        return not_space_admin()
    if target.role == Role.OWNER:
        return owner_stays()
    if not outranks(me.role, target.role):
        return Forbidden("Admins cannot remove other admins")
    return None


def owner_stays() -> Forbidden:
    return Forbidden("The owner cannot leave or be removed from the space")


def require_can_remove_from_space(me: Ranked, target: Ranked) -> None:
    _raise(space_removal_refusal(me, target))


def space_conversation_role(member: Ranked, *, creator: uuid.UUID) -> Role:
    """A space member's role in a conversation of the space: the space's owner owns every
    one and its admins are their admins, whoever made it; a plain member who made one is
    its admin (level with the space's admins, below its owner); everyone else a member."""
    if member.role == Role.OWNER:
        return Role.OWNER
    if is_admin(member.role):
        return Role.ADMIN
    if member.user_id == creator:
        return Role.ADMIN
    return Role.MEMBER


def space_rank_refusal(mine: Role, theirs: Role) -> Forbidden | None:
    """In a SPACE conversation the space's ranks stand above the conversation's: nobody
    changes the role or permissions of a member above them in the space."""
    if outranks(theirs, mine):
        return Forbidden("You cannot manage someone above you in the space")
    return None


def require_space_rank(mine: Role, theirs: Role) -> None:
    _raise(space_rank_refusal(mine, theirs))

"""Who may do what (docs/http-api.md; docs/guarantees.md, Security).

The matrix: every actor (OWNER, ADMIN, MODERATOR, MEMBER, a non-participant, a
participant who LEFT and one who was REMOVED) tries every conversation action, on every
target where the action has one, in GROUP, PRIVATE and SPACE conversations. Each case
starts from its scene (built once through the API, then saved and put back) and checks
the status, then the database: a refused action changes no row at all, a read changes
nothing, an allowed change has its effect, and a non-participant gets the very 404
that a random conversation id gets (learns nothing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update

from hubbub.domain.enums import FileKind, MessageStatus, MessageType, ParticipantStatus, Role
from hubbub.domain.notify_rules import NotifyLevel
from hubbub.store.models import (
    Conversation,
    Message,
    Participant,
    Reaction,
    SpaceMember,
    StoredFile,
)
from tests.conftest import Account, Backend, assert_error
from tests.world import Snapshot, World, counts, open_world, reset, restore, snapshot

# Who plays each actor, and who is the target of each role (never the actor itself).
ACTOR_USER = {
    "OWNER": "owner",
    "ADMIN": "admin",
    "MODERATOR": "moderator",
    "MEMBER": "member",
    "OUTSIDER": "outsider",
    "LEFT": "left",
    "REMOVED": "removed",
}
TARGET_USER = {
    "OWNER": "owner",
    "ADMIN": "t_admin",
    "MODERATOR": "t_moderator",
    "MEMBER": "t_member",
}
CAST = (*ACTOR_USER.values(), "t_admin", "t_moderator", "t_member", "newcomer")
NOT_IN = ("OUTSIDER", "LEFT", "REMOVED")
EMOJI = "\N{THUMBS UP SIGN}"


@pytest.fixture(scope="module")
async def cast(backend: Backend) -> AsyncIterator[World]:
    async with open_world(backend, CAST) as world:
        yield world


# Scenes -------------------------------------------------------------------------------


@dataclass
class Scene:
    world: World
    kind: str
    conversation_id: str
    space_id: str | None
    actor: Account
    own: str | None  # a message of the actor's (None for someone never in)
    other: str  # a message of a plain member (t_member), the thread root

    def path(self, rest: str = "") -> str:
        return f"/conversations/{self.conversation_id}{rest}"


class Scenes:
    """Scenes by (kind, actor), each built once through the API and saved.

    A test gets its scene's saved state back (one transaction) unless the database is
    still in it: a test that rightly changed nothing (a read, a refusal) says so with
    `unchanged`, and the next test of the same scene starts from there as it is.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.saved: dict[tuple[str, str], tuple[Scene, Snapshot]] = {}
        self.clean: tuple[str, str] | None = None

    async def get(self, kind: str, actor: str) -> tuple[Scene, Snapshot]:
        """The scene and its saved rows, with the database in exactly that state."""
        key = (kind, actor)
        clean, self.clean = self.clean, None  # spoilt until the test proves otherwise
        if key not in self.saved:
            await reset(self.world.node)
            scene = await build(self.world, kind, actor)
            self.saved[key] = (scene, await snapshot(self.world.node))
        elif clean != key:
            await restore(self.world.node, self.saved[key][1])
        return self.saved[key]

    async def fresh(self, kind: str, actor: str) -> Scene:
        scene, _ = await self.get(kind, actor)
        return scene

    def unchanged(self, scene: Scene, actor: str) -> None:
        self.clean = (scene.kind, actor)


@pytest.fixture(scope="module")
def scenes(cast: World) -> Scenes:
    return Scenes(cast)


async def set_space_roles(world: World, space_id: str, names: list[str], role: Role) -> None:
    # There is no endpoint that promotes a space member (docs/http-api.md, Spaces); set it in place.
    ids = [world.users[n].id for n in names]
    async with world.node.services.db.write() as session:
        await session.execute(
            update(SpaceMember)
            .where(SpaceMember.space_id == uuid.UUID(space_id), SpaceMember.user_id.in_(ids))
            .values(role=role)
        )


async def new_group(world: World) -> str:
    u = world.users
    members = ("member", "left", "removed", "t_member")
    body = await world.ok(
        u["owner"],
        "POST",
        "/conversations",
        {"type": "GROUP", "name": "Matrix", "participantIds": [str(u[n].id) for n in members]},
        201,
    )
    cid: str = body["conversation"]["id"]
    for role, names in (
        ("ADMIN", ("admin", "t_admin")),
        ("MODERATOR", ("moderator", "t_moderator")),
    ):
        ids = [str(u[n].id) for n in names]
        await world.ok(
            u["owner"], "POST", f"/conversations/{cid}/participants", {"userIds": ids, "role": role}
        )
    return cid


async def new_private(world: World) -> str:
    u = world.users
    body = await world.ok(
        u["member"],
        "POST",
        "/conversations",
        {"type": "PRIVATE", "participantIds": [str(u["t_member"].id)]},
        201,
    )
    cid: str = body["conversation"]["id"]
    return cid


async def new_space(world: World) -> str:
    """A space: owner, two admins, members (its conversations come separately)."""
    u = world.users
    body = await world.ok(u["owner"], "POST", "/spaces", {"name": "Matrix space"}, 201)
    sid: str = body["space"]["id"]
    joining = ("admin", "member", "left", "removed", "t_admin", "t_member")
    await world.ok(
        u["owner"], "POST", f"/spaces/{sid}/members", {"userIds": [str(u[n].id) for n in joining]}
    )
    await set_space_roles(world, sid, ["admin", "t_admin"], Role.ADMIN)
    return sid


async def new_space_conversation(world: World, sid: str) -> str:
    body = await world.ok(
        world.users["owner"],
        "POST",
        "/conversations",
        {"type": "SPACE", "spaceId": sid, "name": "general"},
        201,
    )
    cid: str = body["conversation"]["id"]
    return cid


async def build(world: World, kind: str, actor_label: str) -> Scene:
    u = world.users
    sid: str | None = None
    if kind == "GROUP":
        cid = await new_group(world)
    elif kind == "PRIVATE":
        cid = await new_private(world)
    else:
        sid = await new_space(world)
        cid = await new_space_conversation(world, sid)
    actor = u[ACTOR_USER[actor_label]]
    own = await world.send(actor, cid, "my own words") if actor_label != "OUTSIDER" else None
    other = await world.send(u["t_member"], cid, "a message from a member")
    if kind != "PRIVATE":
        # One participant leaves and one is removed, the way the API does it.
        gone = f"/spaces/{sid}/members" if sid else f"/conversations/{cid}/participants"
        await world.ok(u["left"], "DELETE", f"{gone}/{u['left'].id}")
        await world.ok(u["owner"], "DELETE", f"{gone}/{u['removed'].id}")
    return Scene(world, kind, cid, sid, actor, own, other)


async def new_file(world: World, owner: Account) -> str:
    """A stored message attachment of `owner` (as an upload leaves it)."""
    file_id = uuid.uuid4()
    async with world.node.services.db.write() as session:
        session.add(
            StoredFile(
                id=file_id,
                owner_id=owner.id,
                kind=FileKind.MESSAGE_ATTACHMENT,
                storage_key=f"test/{file_id}",
                filename="notes.txt",
                size=5,
                mime_type="text/plain",
            )
        )
    return str(file_id)


# Actions ------------------------------------------------------------------------------

Request = tuple[str, str, Any]


async def request_for(scene: Scene, action: str, target: str) -> Request:
    """The HTTP request of `action` (on `target`, a role or SELF) by the scene's actor."""
    u = scene.world.users
    mine = scene.path(f"/messages/{scene.own or scene.other}")
    theirs = scene.path(f"/messages/{scene.other}")
    participants = scene.path("/participants")
    if action == "get":
        return "GET", scene.path(), None
    if action == "history":
        return "GET", scene.path("/messages"), None
    if action == "get_message":
        return "GET", theirs, None
    if action == "thread":
        return "GET", f"{theirs}/thread", None
    if action == "changes":
        return "GET", scene.path("/changes?since=0"), None
    if action == "search":
        return "GET", f"/search/messages?q=member&conversationId={scene.conversation_id}", None
    if action == "send":
        return "POST", scene.path("/messages"), {"content": "a new message"}
    if action == "reply":
        body = {"content": "a new message", "parentMessageId": scene.other}
        return "POST", scene.path("/messages"), body
    if action == "send_file":
        file_id = await new_file(scene.world, scene.actor)
        return "POST", scene.path("/messages"), {"content": "", "attachments": [file_id]}
    if action == "edit_own":
        return "PATCH", mine, {"content": "edited words"}
    if action == "edit_other":
        return "PATCH", theirs, {"content": "edited words"}
    if action == "delete_own":
        return "DELETE", mine, None
    if action == "delete_other":
        return "DELETE", theirs, None
    if action == "react":
        return "POST", f"{theirs}/reactions", {"emoji": EMOJI}
    if action == "unreact":
        return "DELETE", f"{theirs}/reactions/{EMOJI}", None
    if action == "read":
        return "PUT", f"{theirs}/read", None
    if action == "rename":
        return "PATCH", scene.path(), {"name": "Renamed"}
    if action == "settings":
        return "PUT", scene.path("/settings"), {"notificationsEnabled": False, "isArchived": True}
    if action == "leave":
        return "DELETE", f"{participants}/{scene.actor.id}", None
    if action == "add":
        return "POST", participants, {"userIds": [str(u["newcomer"].id)], "role": target}
    if action == "role":
        # Gives the plain member role `target`; MEMBER demotes the moderator instead.
        who = u["t_moderator"] if target == "MEMBER" else u["t_member"]
        return "PATCH", f"{participants}/{who.id}", {"role": target}
    if action == "perms":
        who = scene.actor if target == "SELF" else u[TARGET_USER[target]]
        return "PATCH", f"{participants}/{who.id}", {"canSendMessages": False}
    if action == "remove":
        return "DELETE", f"{participants}/{u[TARGET_USER[target]].id}", None
    raise AssertionError(f"unknown action {action}")


READS = frozenset({"get", "history", "get_message", "thread", "changes", "search", "unreact"})


async def participant(scene: Scene, user: Account) -> Participant:
    async with scene.world.node.services.db.read() as session:
        row = await session.scalar(
            select(Participant).where(
                Participant.conversation_id == uuid.UUID(scene.conversation_id),
                Participant.user_id == user.id,
            )
        )
    assert row is not None
    return row


async def message(scene: Scene, message_id: str) -> Message:
    async with scene.world.node.services.db.read() as session:
        row = await session.get(Message, uuid.UUID(message_id))
    assert row is not None
    return row


async def system_messages(scene: Scene) -> list[str]:
    async with scene.world.node.services.db.read() as session:
        found = await session.scalars(
            select(Message.content).where(
                Message.conversation_id == uuid.UUID(scene.conversation_id),
                Message.type == MessageType.SYSTEM,
            )
        )
        return list(found)


async def assert_effect(scene: Scene, action: str, target: str) -> None:
    """An allowed change did what it says (reads are checked by snapshot instead)."""
    u = scene.world.users
    actor = scene.actor
    if action in ("send", "reply", "send_file"):
        async with scene.world.node.services.db.read() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.sender_id == actor.id, Message.content.in_(["a new message", ""]))
            )
        assert sent == 1
    elif action == "edit_own":
        edited = await message(scene, scene.own or "")
        assert (edited.content, edited.edited_at is not None) == ("edited words", True)
    elif action in ("delete_own", "delete_other"):
        gone = await message(scene, (scene.own if action == "delete_own" else None) or scene.other)
        assert (gone.status, gone.content) == (MessageStatus.DELETED, "")
    elif action == "react":
        async with scene.world.node.services.db.read() as session:
            found = await session.scalar(
                select(Reaction.id).where(
                    Reaction.message_id == uuid.UUID(scene.other),
                    Reaction.user_id == actor.id,
                    Reaction.emoji == EMOJI,
                )
            )
        assert found is not None
    elif action == "read":
        me = await participant(scene, actor)
        assert me.last_read_seq == (await message(scene, scene.other)).seq
    elif action == "settings":
        me = await participant(scene, actor)
        assert (me.notify_level, me.is_archived) == (NotifyLevel.NOTHING, True)
    elif action == "rename":
        async with scene.world.node.services.db.read() as session:
            conversation = await session.get(Conversation, uuid.UUID(scene.conversation_id))
        assert conversation is not None
        assert conversation.name == "Renamed"
        assert any("Renamed" in text for text in await system_messages(scene))
    elif action == "leave":
        assert (await participant(scene, actor)).status == ParticipantStatus.LEFT
        await assert_one_active_owner(scene)
        assert await system_messages(scene)
    elif action == "add":
        added = await participant(scene, u["newcomer"])
        assert (added.status, added.role) == (ParticipantStatus.ACTIVE, Role(target))
        assert await system_messages(scene)
    elif action == "role":
        who = u["t_moderator"] if target == "MEMBER" else u["t_member"]
        assert (await participant(scene, who)).role == Role(target)
    elif action == "perms":
        who = actor if target == "SELF" else u[TARGET_USER[target]]
        assert (await participant(scene, who)).can_send_messages is False
    elif action == "remove":
        removed = await participant(scene, u[TARGET_USER[target]])
        assert removed.status == ParticipantStatus.REMOVED
        assert await system_messages(scene)
    else:
        raise AssertionError(f"no effect check for {action}")


async def assert_one_active_owner(scene: Scene) -> None:
    async with scene.world.node.services.db.read() as session:
        owners = await session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(
                Participant.conversation_id == uuid.UUID(scene.conversation_id),
                Participant.status == ParticipantStatus.ACTIVE,
                Participant.role == Role.OWNER,
            )
        )
    assert owners == 1


async def assert_same_as_unknown(
    world: World, who: Account, request: Request, real_id: str, answer: Any
) -> None:
    """The same request about a random id (in the path or the body) answers the same."""
    method, path, body = request
    fake = str(uuid.uuid4())
    if body is not None:
        body = json.loads(json.dumps(body).replace(real_id, fake))
    probe = await world.call(who, method, path.replace(real_id, fake), body)
    assert (probe.status_code, probe.json()) == (answer.status_code, answer.json())


async def run_case(
    scene: Scene, action: str, target: str, expected: int, before: Snapshot | None = None
) -> bool:
    """Checks one case; True when it (rightly) left the stored state as it was.

    `before`: the stored state now, when the caller knows it already.
    """
    world = scene.world
    method, path, body = await request_for(scene, action, target)
    if before is None or action == "send_file":  # send_file stores a file first
        before = await snapshot(world.node)
    response = await world.call(scene.actor, method, path, body)
    after = await snapshot(world.node)
    if expected in (403, 404):
        code = "forbidden" if expected == 403 else "conversation_not_found"
        assert_error(response, expected, code)
        assert counts(after) == counts(before), "a refused request stored or deleted rows"
        assert after == before, "a refused request changed stored state"
        if expected == 404:
            await assert_same_as_unknown(
                world, scene.actor, (method, path, body), scene.conversation_id, response
            )
        return True
    assert response.status_code == expected, response.text
    if action in READS:
        assert after == before, "a read changed stored state"
        return True
    await assert_effect(scene, action, target)
    return False


# The matrix ---------------------------------------------------------------------------

S = (200, 200, 200, 200)
# action[:target] -> status for (OWNER, ADMIN, MODERATOR, MEMBER); None: not a case
# here (the target would be the actor itself: see "leave" and "perms:SELF"; or the spec
# does not say: whether the OWNER may give OWNER). Non-participants: always 404.
GROUP = {
    "get": S,
    "history": S,
    "get_message": S,
    "thread": S,
    "changes": S,
    "search": S,
    "send": (201, 201, 201, 201),
    "reply": (201, 201, 201, 201),
    "edit_own": S,
    "edit_other": (403, 403, 403, 403),
    "delete_own": S,
    "delete_other": (200, 200, 200, 403),
    "react": S,
    "unreact": S,
    "read": S,
    "settings": S,
    "rename": (200, 200, 403, 403),
    "leave": S,
    "add:OWNER": (None, 403, 403, 403),
    "add:ADMIN": (200, 403, 403, 403),
    "add:MODERATOR": (200, 200, 403, 403),
    "add:MEMBER": (200, 200, 403, 403),
    "role:OWNER": (None, 403, 403, 403),
    "role:ADMIN": (200, 403, 403, 403),
    "role:MODERATOR": (200, 200, 403, 403),
    "role:MEMBER": (200, 200, 403, 403),
    "perms:OWNER": (None, 403, 403, 403),
    "perms:ADMIN": (200, 403, 403, 403),
    "perms:MODERATOR": (200, 200, 403, 403),
    "perms:MEMBER": (200, 200, 403, 403),
    "perms:SELF": (403, 403, 403, 403),
    "remove:OWNER": (None, 403, 403, 403),
    "remove:ADMIN": (200, 403, 403, 403),
    "remove:MODERATOR": (200, 200, 403, 403),
    "remove:MEMBER": (200, 200, 403, 403),
}
GROUP_ACTORS = ("OWNER", "ADMIN", "MODERATOR", "MEMBER")

# PRIVATE: two MEMBERs; nobody is added, removed, renamed or leaves.
READS_OK = {a: (200,) for a in ("get", "history", "get_message", "thread", "changes", "search")}
PRIVATE = {
    **READS_OK,
    "send": (201,),
    "reply": (201,),
    "edit_own": (200,),
    "edit_other": (403,),
    "delete_own": (200,),
    "delete_other": (403,),
    "react": (200,),
    "unreact": (200,),
    "read": (200,),
    "settings": (200,),
    "rename": (403,),
    "leave": (403,),
    "add:MEMBER": (403,),
    "role:MODERATOR": (403,),
    "perms:MEMBER": (403,),
    "remove:MEMBER": (403,),
}
PRIVATE_ACTORS = ("MEMBER",)

# SPACE: the space's owner made it (OWNER), space admins are ADMIN, the rest MEMBER;
# membership follows the space, so nobody is added, removed or leaves here.
SPACE = {
    **{a: (200, 200, 200) for a in READS_OK},
    "send": (201, 201, 201),
    "reply": (201, 201, 201),
    "edit_own": (200, 200, 200),
    "edit_other": (403, 403, 403),
    "delete_own": (200, 200, 200),
    "delete_other": (200, 200, 403),
    "react": (200, 200, 200),
    "unreact": (200, 200, 200),
    "read": (200, 200, 200),
    "settings": (200, 200, 200),
    "rename": (200, 200, 403),
    "leave": (403, 403, 403),
    "add:MEMBER": (403, 403, 403),
    "role:MODERATOR": (200, 200, 403),
    "perms:MEMBER": (200, 200, 403),
    "remove:MEMBER": (403, 403, 403),
}
SPACE_ACTORS = ("OWNER", "ADMIN", "MEMBER")


def matrix() -> Iterator[Any]:
    for kind, table, actors, outside in (
        ("GROUP", GROUP, GROUP_ACTORS, NOT_IN),
        ("PRIVATE", PRIVATE, PRIVATE_ACTORS, ("OUTSIDER",)),
        ("SPACE", SPACE, SPACE_ACTORS, NOT_IN),
    ):
        # Grouped by actor, so that cases which change nothing share one scene.
        for actor in (*actors, *outside):
            for action, statuses in table.items():
                status = 404 if actor in outside else statuses[actors.index(actor)]
                if status is not None:
                    yield pytest.param(kind, actor, action, status, id=f"{kind}-{actor}-{action}")


@pytest.mark.parametrize(("kind", "actor", "action", "expected"), list(matrix()))
async def test_conversation_permission_matrix(
    scenes: Scenes, kind: str, actor: str, action: str, expected: int
) -> None:
    scene, saved = await scenes.get(kind, actor)
    name, _, target = action.partition(":")
    if await run_case(scene, name, target, expected, saved):
        scenes.unchanged(scene, actor)


# Permissions given or taken one by one -------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "grant", "action", "expected"),
    [
        ("MEMBER", {"canSendMessages": False}, "send", 403),
        ("MEMBER", {"canSendMessages": False}, "reply", 403),
        ("MEMBER", {"canSendMessages": False}, "send_file", 403),
        ("MEMBER", {"canSendMessages": False}, "history", 200),
        ("ADMIN", {"canSendMessages": False}, "send", 403),
        ("MEMBER", {"canSendMessages": False}, "edit_own", 403),
        ("ADMIN", {"canSendMessages": False}, "edit_own", 403),
        ("MEMBER", {"canSendMessages": False}, "react", 403),
        ("MEMBER", {"canSendMessages": False}, "delete_own", 200),
        ("MODERATOR", {"canSendMessages": False}, "delete_other", 200),
        ("MEMBER", {"canSendMessages": False}, "read", 200),
        ("MEMBER", {"canUploadFiles": False}, "send_file", 403),
        ("MEMBER", {"canUploadFiles": False}, "send", 201),
        ("MEMBER", {}, "send_file", 201),
        ("MEMBER", {"canAddMembers": True}, "add:MEMBER", 200),
        ("MEMBER", {"canAddMembers": True}, "add:MODERATOR", 403),
        ("MEMBER", {"canAddMembers": True}, "add:ADMIN", 403),
        ("MEMBER", {"canAddMembers": True}, "add:OWNER", 403),
        ("MEMBER", {"canAddMembers": True}, "remove:MEMBER", 403),
        ("MEMBER", {"canAddMembers": True}, "role:MODERATOR", 403),
        ("MODERATOR", {"canAddMembers": True}, "add:MEMBER", 200),
        ("MODERATOR", {"canAddMembers": True}, "add:MODERATOR", 403),
        ("MODERATOR", {"canRemoveMembers": True}, "remove:MEMBER", 200),
        ("MODERATOR", {"canRemoveMembers": True}, "remove:MODERATOR", 403),
        ("MODERATOR", {"canRemoveMembers": True}, "remove:ADMIN", 403),
        ("MODERATOR", {"canRemoveMembers": True}, "remove:OWNER", 403),
        ("MODERATOR", {"canRemoveMembers": True}, "perms:MEMBER", 403),
        ("MODERATOR", {"canRemoveMembers": True}, "add:MEMBER", 403),
        ("MEMBER", {"canRemoveMembers": True}, "remove:MEMBER", 403),
        ("ADMIN", {"canAddMembers": False}, "add:MEMBER", 200),
        ("ADMIN", {"canRemoveMembers": False}, "remove:MEMBER", 200),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None,
)
async def test_participant_permission_flags(
    scenes: Scenes, actor: str, grant: dict[str, bool], action: str, expected: int
) -> None:
    scene = await scenes.fresh("GROUP", actor)
    world = scene.world
    if grant:
        await world.ok(
            world.users["owner"], "PATCH", scene.path(f"/participants/{scene.actor.id}"), grant
        )
        me = await participant(scene, scene.actor)
        for field, value in grant.items():
            column = {
                "canSendMessages": me.can_send_messages,
                "canUploadFiles": me.can_upload_files,
                "canAddMembers": me.can_add_members,
                "canRemoveMembers": me.can_remove_members,
            }[field]
            assert column is value
    name, _, target = action.partition(":")
    await run_case(scene, name, target, expected)


async def test_a_muted_member_is_refused_an_edit_as_a_send_but_may_unsay(scenes: Scenes) -> None:
    scene = await scenes.fresh("GROUP", "MEMBER")
    world, owner, member = scene.world, scene.world.users["owner"], scene.actor
    reactions = scene.path(f"/messages/{scene.other}/reactions")
    await world.ok(member, "POST", reactions, {"emoji": EMOJI})
    muted = {"canSendMessages": False}
    await world.ok(owner, "PATCH", scene.path(f"/participants/{member.id}"), muted)
    before = await snapshot(world.node)
    sent = await world.call(member, "POST", scene.path("/messages"), {"content": "hi"})
    edit = {"content": "a new meaning for old words"}
    edited = await world.call(member, "PATCH", scene.path(f"/messages/{scene.own}"), edit)
    reacted = await world.call(member, "POST", reactions, {"emoji": "\N{HEAVY BLACK HEART}"})
    assert_error(sent, 403, "forbidden")
    assert (edited.status_code, edited.json()) == (sent.status_code, sent.json())
    assert (reacted.status_code, reacted.json()) == (sent.status_code, sent.json())
    assert await snapshot(world.node) == before
    # Taking back one's own reaction and one's own message is allowed while muted.
    assert (await world.ok(member, "DELETE", f"{reactions}/{EMOJI}"))["reactions"] == []
    gone = await world.ok(member, "DELETE", scene.path(f"/messages/{scene.own}"))
    assert gone["message"]["status"] == "DELETED"


async def test_system_messages_cannot_be_edited_or_deleted_even_by_the_owner(
    scenes: Scenes,
) -> None:
    scene = await scenes.fresh("GROUP", "OWNER")
    world = scene.world
    owner = scene.actor
    await world.ok(owner, "PATCH", scene.path(), {"name": "Renamed"})
    async with world.node.services.db.read() as session:
        system_id = await session.scalar(
            select(Message.id).where(
                Message.conversation_id == uuid.UUID(scene.conversation_id),
                Message.type == MessageType.SYSTEM,
            )
        )
    before = await snapshot(world.node)
    one = scene.path(f"/messages/{system_id}")
    assert_error(await world.call(owner, "PATCH", one, {"content": "rewritten"}), 403)
    assert_error(await world.call(owner, "DELETE", one), 403)
    assert await snapshot(world.node) == before


@pytest.mark.parametrize("who", ["outsider", "left", "newcomer"])
async def test_changing_someone_not_in_the_conversation_is_404(scenes: Scenes, who: str) -> None:
    scene = await scenes.fresh("GROUP", "LEFT" if who == "left" else "OWNER")
    world = scene.world
    owner = world.users["owner"]
    target = scene.path(f"/participants/{world.users[who].id}")
    before = await snapshot(world.node)
    assert_error(await world.call(owner, "DELETE", target), 404, "participant_not_found")
    assert_error(
        await world.call(owner, "PATCH", target, {"role": "MODERATOR"}),
        404,
        "participant_not_found",
    )
    assert await snapshot(world.node) == before


async def test_a_participant_who_left_can_be_added_back(scenes: Scenes) -> None:
    scene = await scenes.fresh("GROUP", "LEFT")
    world = scene.world
    await world.ok(
        world.users["owner"],
        "POST",
        scene.path("/participants"),
        {"userIds": [str(scene.actor.id)]},
    )
    back = await participant(scene, scene.actor)
    assert (back.status, back.role) == (ParticipantStatus.ACTIVE, Role.MEMBER)
    assert (await world.call(scene.actor, "GET", scene.path())).status_code == 200


# What a non-participant can learn ------------------------------------------------------


@pytest.mark.parametrize("who", ["OUTSIDER", "LEFT", "REMOVED"])
async def test_search_shows_nothing_of_conversations_the_caller_is_not_in(
    scenes: Scenes, who: str
) -> None:
    scene = await scenes.fresh("GROUP", who)
    world = scene.world
    member = world.users["member"]
    found = await world.ok(member, "GET", "/search/messages?q=member")
    assert [m["id"] for m in found["messages"]] == [scene.other]

    response = await world.call(scene.actor, "GET", "/search/messages?q=member")
    assert response.status_code == 200
    assert response.json() == {"messages": [], "hasMore": False}
    mine = await world.call(scene.actor, "GET", "/search/messages?q=words")
    assert mine.json()["messages"] == []  # not even their own words from before

    # Naming the conversation is a 404 whatever the query, even one without words.
    for q in ("member", "?!"):
        named = "/search/messages?" + urlencode({"q": q, "conversationId": scene.conversation_id})
        answer = await world.call(scene.actor, "GET", named)
        assert_error(answer, 404, "conversation_not_found")
        await assert_same_as_unknown(
            world, scene.actor, ("GET", named, None), scene.conversation_id, answer
        )
        assert (await world.call(member, "GET", named)).status_code == 200

    # A cursor from the hidden conversation is as unknown as a random id.
    cursor = f"/search/messages?q=member&before={scene.other}"
    hidden = await world.call(scene.actor, "GET", cursor)
    assert_error(hidden, 400, "invalid_cursor")
    await assert_same_as_unknown(world, scene.actor, ("GET", cursor, None), scene.other, hidden)
    assert (await world.call(member, "GET", cursor)).status_code == 200


async def test_lists_never_show_conversations_the_caller_is_not_in(scenes: Scenes) -> None:
    scene = await scenes.fresh("GROUP", "REMOVED")
    world = scene.world
    for who in ("outsider", "left", "removed"):
        body = await world.ok(world.users[who], "GET", "/conversations")
        assert body == {"conversations": [], "total": 0, "nextCursor": None}
    body = await world.ok(world.users["member"], "GET", "/conversations")
    assert [c["id"] for c in body["conversations"]] == [scene.conversation_id]


# Spaces -------------------------------------------------------------------------------

# action[:target] -> status for (OWNER, ADMIN, MEMBER); non-members: always 404.
SPACES = {
    "get": (200, 200, 200),
    "conversations": (200, 200, 200),
    "add": (200, 200, 403),
    "remove:MEMBER": (200, 200, 403),
    "remove:ADMIN": (200, 403, 403),
    "remove:OWNER": (None, 403, 403),  # the owner removing itself is "leave"
    "leave": (403, 200, 200),
}
SPACE_USER = {**ACTOR_USER, "ADMIN": "admin"}


def space_matrix() -> Iterator[Any]:
    for action, statuses in SPACES.items():
        row = [*zip(("OWNER", "ADMIN", "MEMBER"), statuses, strict=True)]
        row += [(a, 404) for a in NOT_IN]
        for actor, status in row:
            if status is not None:
                yield pytest.param(actor, action, status, id=f"{actor}-{action}")


async def space_member_role(world: World, sid: str, user: Account) -> Role | None:
    async with world.node.services.db.read() as session:
        member = await session.get(SpaceMember, (uuid.UUID(sid), user.id))
        return member.role if member is not None else None


@pytest.mark.parametrize(("actor", "action", "expected"), list(space_matrix()))
async def test_space_permission_matrix(
    scenes: Scenes, actor: str, action: str, expected: int
) -> None:
    scene = await scenes.fresh("SPACE", actor)
    world = scene.world
    sid = scene.space_id
    assert sid is not None
    u = world.users
    name, _, target = action.partition(":")
    members = f"/spaces/{sid}/members"
    subject = {
        "add": u["newcomer"],
        "remove": u[TARGET_USER[target]] if target else scene.actor,
        "leave": scene.actor,
    }.get(name)
    method, path, body = {
        "get": ("GET", f"/spaces/{sid}", None),
        "conversations": ("GET", f"/spaces/{sid}/conversations", None),
        "add": ("POST", members, {"userIds": [str(u["newcomer"].id)]}),
        "remove": ("DELETE", f"{members}/{subject.id if subject else ''}", None),
        "leave": ("DELETE", f"{members}/{scene.actor.id}", None),
    }[name]
    before = await snapshot(world.node)
    response = await world.call(scene.actor, method, path, body)
    after = await snapshot(world.node)
    if expected in (403, 404):
        assert_error(response, expected, "forbidden" if expected == 403 else "space_not_found")
        assert counts(after) == counts(before), "a refused request stored or deleted rows"
        assert after == before, "a refused request changed stored state"
        if expected == 404:
            await assert_same_as_unknown(world, scene.actor, (method, path, body), sid, response)
        return
    assert response.status_code == expected, response.text
    if name in ("get", "conversations"):
        assert after == before
        if name == "conversations":
            listed = [c["id"] for c in response.json()["conversations"]]
            assert listed == [scene.conversation_id]
        else:
            assert response.json()["space"]["myRole"] == actor
        return
    assert subject is not None
    in_conversation = await participant(scene, subject)
    if name == "add":
        assert await space_member_role(world, sid, subject) == Role.MEMBER
        assert in_conversation.status == ParticipantStatus.ACTIVE
    else:
        assert await space_member_role(world, sid, subject) is None
        gone = ParticipantStatus.LEFT if name == "leave" else ParticipantStatus.REMOVED
        assert in_conversation.status == gone


async def test_space_conversation_membership_follows_the_space(scenes: Scenes) -> None:
    scene = await scenes.fresh("SPACE", "OWNER")
    world = scene.world
    owner, newcomer = scene.actor, world.users["newcomer"]
    sid = scene.space_id
    conversation = scene.path()
    not_yet = await world.call(newcomer, "GET", conversation)
    assert_error(not_yet, 404, "conversation_not_found")

    await world.ok(owner, "POST", f"/spaces/{sid}/members", {"userIds": [str(newcomer.id)]})
    joined = await world.ok(newcomer, "GET", conversation)
    assert joined["conversation"]["myRole"] == "MEMBER"
    history = await world.ok(newcomer, "GET", scene.path("/messages"))
    assert scene.other in [m["id"] for m in history["messages"]]
    await world.send(newcomer, scene.conversation_id, "hello space")
    # A conversation made after joining includes the newcomer too.
    later = await new_space_conversation(world, sid or "")
    assert (await world.call(newcomer, "GET", f"/conversations/{later}")).status_code == 200

    await world.ok(owner, "DELETE", f"/spaces/{sid}/members/{newcomer.id}")
    before = await snapshot(world.node)
    for method, path, body in (
        ("GET", conversation, None),
        ("GET", scene.path("/messages"), None),
        ("POST", scene.path("/messages"), {"content": "still here?"}),
        ("GET", f"/conversations/{later}", None),
        ("GET", f"/spaces/{sid}", None),
    ):
        response = await world.call(newcomer, method, path, body)
        assert response.status_code == 404, response.text
        real = sid if path.startswith("/spaces") else path.split("/")[2]
        await assert_same_as_unknown(world, newcomer, (method, path, body), real or "", response)
    assert await snapshot(world.node) == before


async def test_a_plain_member_who_makes_a_space_conversation_cannot_mute_the_space_owner(
    scenes: Scenes,
) -> None:
    scene = await scenes.fresh("SPACE", "MEMBER")
    world, member, owner = scene.world, scene.actor, scene.world.users["owner"]
    body = {"type": "SPACE", "spaceId": scene.space_id, "name": "my corner"}
    made = (await world.ok(member, "POST", "/conversations", body, 201))["conversation"]
    roles = {p["userId"]: p["role"] for p in made["participants"]}
    assert (made["myRole"], roles[str(owner.id)]) == ("ADMIN", "OWNER")
    assert roles[str(world.users["admin"].id)] == "ADMIN"
    corner = f"/conversations/{made['id']}/participants"
    for role in ("OWNER", "ADMIN"):  # made before the fix: the maker owns it
        async with world.node.services.db.write() as session:
            await session.execute(
                update(Participant)
                .where(Participant.conversation_id == uuid.UUID(made["id"]))
                .where(Participant.user_id == member.id)
                .values(role=Role(role), can_add_members=True, can_remove_members=True)
            )
        before = await snapshot(world.node)
        for who, change in (
            (owner, {"canSendMessages": False}),
            (owner, {"role": "MEMBER"}),
            (world.users["admin"], {"canSendMessages": False}),
        ):
            refused = await world.call(member, "PATCH", f"{corner}/{who.id}", change)
            assert_error(refused, 403, "forbidden")
        assert await snapshot(world.node) == before
    # The space's owner keeps authority over the maker, and the maker over plain members.
    mute = {"canSendMessages": False}
    await world.ok(owner, "PATCH", f"{corner}/{member.id}", mute)
    await world.ok(member, "PATCH", f"{corner}/{world.users['t_member'].id}", mute)


async def test_space_conversation_in_a_space_one_is_not_in_is_404(scenes: Scenes) -> None:
    scene = await scenes.fresh("SPACE", "OUTSIDER")
    world = scene.world
    before = await snapshot(world.node)
    body = {"type": "SPACE", "spaceId": scene.space_id, "name": "sneaky"}
    response = await world.call(scene.actor, "POST", "/conversations", body)
    assert_error(response, 404, "space_not_found")
    await assert_same_as_unknown(
        world, scene.actor, ("POST", "/conversations", body), scene.space_id or "", response
    )
    assert await snapshot(world.node) == before


async def test_space_conversation_takes_its_members_from_the_space_only(
    scenes: Scenes,
) -> None:
    scene = await scenes.fresh("SPACE", "OWNER")
    world, outsider = scene.world, scene.world.users["outsider"]
    body = {
        "type": "SPACE",
        "spaceId": scene.space_id,
        "name": "with a stowaway",
        "participantIds": [str(outsider.id)],
    }
    created = await world.ok(scene.actor, "POST", "/conversations", body, 201)
    conversation = created["conversation"]
    assert str(outsider.id) not in [p["userId"] for p in conversation["participants"]]
    response = await world.call(outsider, "GET", f"/conversations/{conversation['id']}")
    assert_error(response, 404, "conversation_not_found")


async def test_removing_a_reaction_removes_only_the_callers_own(scenes: Scenes) -> None:
    scene = await scenes.fresh("GROUP", "MEMBER")
    world, owner = scene.world, scene.world.users["owner"]
    reactions = scene.path(f"/messages/{scene.other}/reactions")
    await world.ok(owner, "POST", reactions, {"emoji": EMOJI})
    before = await snapshot(world.node)
    answer = await world.ok(scene.actor, "DELETE", f"{reactions}/{EMOJI}")
    assert answer["reactions"] == [{"emoji": EMOJI, "count": 1, "userIds": [str(owner.id)]}]
    assert await snapshot(world.node) == before


@pytest.mark.parametrize("kind", ["GROUP", "PRIVATE", "SPACE"])
async def test_no_answer_shows_another_users_email(scenes: Scenes, kind: str) -> None:
    scene = await scenes.fresh(kind, "MEMBER")
    world = scene.world
    for path in (scene.path(), "/conversations", scene.path("/messages")):
        response = await world.call(scene.actor, "GET", path)
        assert response.status_code == 200, response.text
        others = [u for u in world.users.values() if u.id != scene.actor.id]
        shown = {u.email for u in others if u.email in response.text}
        assert shown == set(), path

"""Bad input on every endpoint of conversations, participants, spaces and messages
(docs/http-api.md, Errors; docs/guarantees.md, Bad input).

Each case sends one bad request as the caller of a scene built once for the module,
and checks the answer (status, the docs/http-api.md error shape, its `code`, the field its
message starts with) and that nothing was stored: the row counts of messages,
conversations, participants, reactions, spaces and space members, and every row of
them, are the same afterwards.

Bodies are encoded here with `json.dumps`, which writes a lone surrogate as the raw
JSON escape `\\ud800`, the way a broken client would send it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from hubbub.domain.enums import FileKind, ParticipantStatus
from hubbub.store.models import Participant, SpaceMember, StoredFile
from hubbub.wire.json_depth import MAX_JSON_DEPTH
from tests.conftest import Backend, assert_error
from tests.world import Snapshot, World, counts, open_world, snapshot

CAST = ("caller", "peer", "stranger")
NUL = "a\u0000b"
LONE = "a\ud800b"  # a lone surrogate: valid JSON, not valid Unicode text
EMOJI = "\N{THUMBS UP SIGN}"


@dataclass
class Ids:
    """Everything a case may name, as `<name>` in its path or body."""

    values: dict[str, str]

    def fill(self, text: str) -> str:
        for name, value in self.values.items():
            text = text.replace(f"<{name}>", value)
        return text


@dataclass
class Scene:
    world: World
    ids: Ids
    rows: Snapshot  # the stored state as the last test left it


async def new_file(world: World, owner: str, kind: FileKind) -> str:
    file_id = uuid.uuid4()
    async with world.node.services.db.write() as session:
        session.add(
            StoredFile(
                id=file_id,
                owner_id=world.users[owner].id,
                kind=kind,
                storage_key=f"test/{file_id}",
                filename="notes.txt",
                size=5,
                mime_type="text/plain",
            )
        )
    return str(file_id)


async def build(world: World) -> Scene:
    """g: the caller's group (caller OWNER, peer) with m1 (caller's), m2 (peer's) and
    r1 (a reply to m2); k: another conversation of the caller's, with k1; h: a
    conversation of others (stranger, peer), with h1; p: the caller's private one with
    the peer; s: the caller's space. Files: the stranger's attachment, the caller's
    avatar, the caller's own attachment."""
    u = world.users
    caller, peer, stranger = u["caller"], u["peer"], u["stranger"]

    async def group(owner: str, other: str, name: str) -> str:
        body = await world.ok(
            u[owner],
            "POST",
            "/conversations",
            {"type": "GROUP", "name": name, "participantIds": [str(u[other].id)]},
            201,
        )
        cid: str = body["conversation"]["id"]
        return cid

    g = await group("caller", "peer", "the group")
    k = await group("caller", "stranger", "another group")
    h = await group("stranger", "peer", "not the caller's")
    m1 = await world.send(caller, g, "first words")
    m2 = await world.send(peer, g, "second words")
    r1 = await world.send(peer, g, "a reply", parentMessageId=m2)
    k1 = await world.send(caller, k, "elsewhere")
    h1 = await world.send(stranger, h, "hidden")
    private = await world.ok(
        caller, "POST", "/conversations", {"type": "PRIVATE", "participantIds": [str(peer.id)]}, 201
    )
    space = await world.ok(caller, "POST", "/spaces", {"name": "the space"}, 201)
    ids = {
        "g": g,
        "k": k,
        "h": h,
        "p": private["conversation"]["id"],
        "s": space["space"]["id"],
        "m1": m1,
        "m2": m2,
        "r1": r1,
        "k1": k1,
        "h1": h1,
        "caller": str(caller.id),
        "peer": str(peer.id),
        "stranger": str(stranger.id),
        "unknown": str(uuid.uuid4()),
        "f_stranger": await new_file(world, "stranger", FileKind.MESSAGE_ATTACHMENT),
        "f_avatar": await new_file(world, "caller", FileKind.AVATAR),
        "f_mine": await new_file(world, "caller", FileKind.MESSAGE_ATTACHMENT),
    }
    return Scene(world, Ids(ids), await snapshot(world.node))


@pytest.fixture(scope="module")
async def scene(backend: Backend) -> AsyncIterator[Scene]:
    async with open_world(backend, CAST) as world:
        yield await build(world)


async def request(
    scene: Scene, method: str, path: str, body: Any = None, *, who: str = "caller"
) -> httpx.Response:
    content: bytes | None = None
    if isinstance(body, bytes):
        content = body  # sent as it is, even when it is not UTF-8
    elif body is not None:
        content = scene.ids.fill(json.dumps(body)).encode()  # "\ud800" stays an escape
    headers = {"content-type": "application/json"} if content is not None else {}
    return await scene.world.call(
        scene.world.users[who], method, scene.ids.fill(path), content=content, headers=headers
    )


@dataclass(frozen=True)
class Expect:
    status: int
    code: str | None
    field: str | None


def expect(status: int, named: str | None) -> Expect:
    """`named`: the field the error message starts with (422, and 400 for a bad enum
    value), or the error code (404, and 400 for a cursor or malformed JSON)."""
    if status == 422:
        return Expect(422, "validation_error", named)
    if status == 413:
        return Expect(413, "payload_too_large", None)
    if status == 404:
        return Expect(404, named or "not_found", None)
    if named in ("invalid_cursor", "invalid_json"):
        return Expect(400, named, None)
    if named is None:
        return Expect(400, None, None)  # some other 400: only the shape is pinned
    return Expect(400, "invalid_enum", named)


DROP = object()  # a change that takes the field out of the base body
Row = tuple[str, Any, int, str | None]  # (name, change, status, named)


def body_cases(method: str, path: str, base: dict[str, Any], rows: list[Row]) -> list[Any]:
    """One case per row: `change` merged into `base` (a dict), or the whole body."""
    cases = []
    for name, change, status, named in rows:
        if isinstance(change, dict):
            body: Any = {k: v for k, v in {**base, **change}.items() if v is not DROP}
        else:
            body = change
        params = (method, path, body, expect(status, named))
        cases.append(pytest.param(*params, id=f"{method} {path} {name}"))
    return cases


def query_cases(path: str, rows: list[tuple[str, int, str | None]]) -> list[Any]:
    """One GET per row: (query string, status, named)."""
    cases = []
    for query, status, named in rows:
        url = f"{path}{'&' if '?' in path else '?'}{query}" if query else path
        cases.append(pytest.param("GET", url, None, expect(status, named), id=f"GET {url}"))
    return cases


def path_cases(rows: list[tuple[str, str, int, str | None]]) -> list[Any]:
    """One body-less request per row: (method, path, status, named)."""
    return [
        pytest.param(method, path, None, expect(status, named), id=f"{method} {path}")
        for method, path, status, named in rows
    ]


NUMBERS = ("0", "-1", "101", str(10**30), "ten", "1.5", "")


def bad_limits(path: str, field: str = "limit") -> list[Any]:
    """Zero, negative, one too many, enormous and non-numeric values of a query number."""
    return query_cases(path, [(f"{field}={n}", 422, field) for n in NUMBERS])


def bad_strings(field: str) -> list[Row]:
    """Wrong types, a NUL and a lone surrogate in one string field."""
    return [
        (f"{field} {name}", {field: bad}, 422, field)
        for name, bad in (("int", 5), ("list", ["x"]), ("object", {}), ("nul", NUL))
    ] + [(f"{field} surrogate", {field: LONE}, 422, field)]


def nested_in_a(depth: int) -> bytes:
    """An object whose field `a` holds `depth` arrays inside one another."""
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"


def bad_bodies(what: str = "") -> list[Row]:
    """Malformed JSON, not an object, an unknown field, a body over 1 MiB, and JSON
    that the parser cannot take in (invalid UTF-8, nesting, a 5,000-digit number)."""
    return [
        ("malformed", b'{"content": "unterminated', 400, "invalid_json"),
        ("empty body", b"", 422, "body"),
        ("null", b"null", 422, "body"),
        ("array", [{}], 422, "body"),
        ("string", "text", 422, "body"),
        ("unknown field", {"senderId": "<peer>"}, 422, "senderId"),
        ("over 1 MiB", json.dumps({what or "x": "x" * (1024 * 1024)}).encode(), 413, None),
        ("invalid UTF-8", b'{"content": "\xff\xfe"}', 400, None),
        (
            "nested 100000 deep",
            b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            400,
            "invalid_json",
        ),
        (
            "nested one too deep",
            b'{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
            400,
            "invalid_json",
        ),
        ("5000 digits", b'{"a": 1' + b"0" * 5000 + b"}", 400, None),
    ]


# Conversations ------------------------------------------------------------------------

GROUP = {"type": "GROUP", "name": "new group", "participantIds": ["<peer>"]}
THOUSAND_AND_ONE = [str(uuid.UUID(int=i + 1)) for i in range(1001)]
CONVERSATIONS = [
    *bad_limits("/conversations"),
    *query_cases(
        "/conversations",
        [
            ("before=yesterday", 422, "before"),
            ("before=2020-01-01", 422, "before"),
            ("before=2020-01-01T10:00:00", 422, "before"),
            ("before=99999-01-01T00:00:00Z", 422, "before"),
            ("before=0001-01-01T00:00:00%2B14:00", 422, "before"),  # not a time in UTC
            ("before=9999-12-31T23:59:59-14:00", 422, "before"),
            ("archived=maybe", 422, "archived"),
        ],
    ),
    *body_cases(
        "POST",
        "/conversations",
        GROUP,
        [
            *bad_bodies(),
            ("type missing", {"type": DROP}, 422, "type"),
            ("type unknown", {"type": "CHANNEL"}, 400, "type"),
            ("type lower case", {"type": "group"}, 400, "type"),
            ("type int", {"type": 5}, 400, "type"),
            ("type null", {"type": None}, 400, "type"),
            ("ids string", {"participantIds": "<peer>"}, 422, "participantIds"),
            ("ids bad uuid", {"participantIds": ["nope"]}, 422, "participantIds"),
            ("ids null", {"participantIds": [None]}, 422, "participantIds"),
            ("ids int", {"participantIds": [5]}, 422, "participantIds"),
            ("ids 1001", {"participantIds": THOUSAND_AND_ONE}, 422, "participantIds"),
            ("no one else", {"participantIds": []}, 422, "participantIds"),
            ("only self", {"participantIds": ["<caller>"]}, 422, "participantIds"),
            ("unknown user", {"participantIds": ["<unknown>"]}, 404, "user_not_found"),
            ("one unknown", {"participantIds": ["<peer>", "<unknown>"]}, 404, "user_not_found"),
            ("name missing", {"name": DROP}, 422, "name"),
            ("name empty", {"name": ""}, 422, "name"),
            ("name blank", {"name": " \t\n "}, 422, "name"),
            ("name 101", {"name": "n" * 101}, 422, "name"),
            *bad_strings("name"),
            ("description 1001", {"description": "d" * 1001}, 422, "description"),
            *bad_strings("description"),
            ("spaceId bad", {"spaceId": "nope"}, 422, "spaceId"),
        ],
    ),
    *body_cases(
        "POST",
        "/conversations",
        {"type": "PRIVATE", "participantIds": ["<peer>"]},
        [
            ("private with self", {"participantIds": ["<caller>"]}, 422, "participantIds"),
            ("private with no one", {"participantIds": []}, 422, "participantIds"),
            (
                "private of three",
                {"participantIds": ["<peer>", "<stranger>"]},
                422,
                "participantIds",
            ),
            ("private unknown", {"participantIds": ["<unknown>"]}, 404, "user_not_found"),
        ],
    ),
    *body_cases(
        "POST",
        "/conversations",
        {"type": "SPACE", "name": "room", "spaceId": "<s>"},
        [
            ("space without spaceId", {"spaceId": DROP}, 422, "spaceId"),
            ("space without name", {"name": DROP}, 422, "name"),
            ("space unknown", {"spaceId": "<unknown>"}, 404, "space_not_found"),
            ("space bad id", {"spaceId": "nope"}, 422, "spaceId"),
        ],
    ),
    *path_cases(
        [
            ("GET", "/conversations/nope", 404, None),
            ("GET", "/conversations/12345", 404, None),
            ("GET", "/conversations/%FF", 404, None),
            ("GET", "/conversations/<unknown>", 404, "conversation_not_found"),
            ("PATCH", "/conversations/nope", 404, None),
            ("PUT", "/conversations/nope/settings", 404, None),
        ]
    ),
    *body_cases(
        "PATCH",
        "/conversations/<g>",
        {},
        [
            *bad_bodies(),
            ("name null", {"name": None}, 422, "name"),
            ("name empty", {"name": ""}, 422, "name"),
            ("name 101", {"name": "n" * 101}, 422, "name"),
            *bad_strings("name"),
            ("description 1001", {"description": "d" * 1001}, 422, "description"),
            *bad_strings("description"),
            ("avatar 501", {"avatar": "a" * 501}, 422, "avatar"),
            *bad_strings("avatar"),
            ("type", {"type": "PRIVATE"}, 422, "type"),
        ],
    ),
    *body_cases(
        "PUT",
        "/conversations/<g>/settings",
        {},
        [
            *bad_bodies(),
            ("string flag", {"notificationsEnabled": "yes"}, 422, "notificationsEnabled"),
            ("int flag", {"notificationsEnabled": 1}, 422, "notificationsEnabled"),
            ("string archived", {"isArchived": "true"}, 422, "isArchived"),
            ("unknown", {"muted": True}, 422, "muted"),
        ],
    ),
]

# Participants -------------------------------------------------------------------------

FIVE_HUNDRED_AND_ONE = THOUSAND_AND_ONE[:501]
PARTICIPANTS = [
    *body_cases(
        "POST",
        "/conversations/<g>/participants",
        {"userIds": ["<stranger>"]},
        [
            *bad_bodies(),
            ("userIds missing", {"userIds": DROP}, 422, "userIds"),
            ("userIds empty", {"userIds": []}, 422, "userIds"),
            ("userIds string", {"userIds": "<stranger>"}, 422, "userIds"),
            ("userIds bad", {"userIds": ["nope"]}, 422, "userIds"),
            ("userIds 501", {"userIds": FIVE_HUNDRED_AND_ONE}, 422, "userIds"),
            ("unknown", {"userIds": ["<unknown>"]}, 404, "user_not_found"),
            ("one unknown", {"userIds": ["<stranger>", "<unknown>"]}, 404, "user_not_found"),
            ("role unknown", {"role": "KING"}, 400, "role"),
            ("role lower case", {"role": "member"}, 400, "role"),
            ("role int", {"role": 1}, 400, "role"),
        ],
    ),
    *body_cases(
        "PATCH",
        "/conversations/<g>/participants/<peer>",
        {},
        [
            *bad_bodies(),
            ("role unknown", {"role": "KING"}, 400, "role"),
            ("flag string", {"canSendMessages": "no"}, 422, "canSendMessages"),
            ("flag int", {"canUploadFiles": 0}, 422, "canUploadFiles"),
            ("flag null list", {"canAddMembers": [True]}, 422, "canAddMembers"),
            ("status", {"status": "REMOVED"}, 422, "status"),
        ],
    ),
    *body_cases(
        "PATCH",
        "/conversations/<g>/participants/<unknown>",
        {"role": "MODERATOR"},
        [("unknown user", {}, 404, "participant_not_found")],
    ),
    *body_cases(
        "PATCH",
        "/conversations/<g>/participants/<stranger>",
        {"role": "MODERATOR"},
        [("not a participant", {}, 404, "participant_not_found")],
    ),
    *body_cases("PATCH", "/conversations/<g>/participants/nope", {}, [("bad uuid", {}, 404, None)]),
    *path_cases(
        [
            ("DELETE", "/conversations/<g>/participants/nope", 404, None),
            ("DELETE", "/conversations/nope/participants/<peer>", 404, None),
            ("DELETE", "/conversations/<g>/participants/<unknown>", 404, "participant_not_found"),
            ("DELETE", "/conversations/<g>/participants/<stranger>", 404, "participant_not_found"),
            ("POST", "/conversations/nope/participants", 404, None),
        ]
    ),
]

# Spaces -------------------------------------------------------------------------------

SPACES = [
    *body_cases(
        "POST",
        "/spaces",
        {"name": "a space"},
        [
            *bad_bodies(),
            ("name missing", {"name": DROP}, 422, "name"),
            ("name empty", {"name": ""}, 422, "name"),
            ("name blank", {"name": "   "}, 422, "name"),
            ("name 101", {"name": "n" * 101}, 422, "name"),
            *bad_strings("name"),
            ("description 1001", {"description": "d" * 1001}, 422, "description"),
            *bad_strings("description"),
        ],
    ),
    *body_cases(
        "POST",
        "/spaces/<s>/members",
        {"userIds": ["<peer>"]},
        [
            *bad_bodies(),
            ("userIds missing", {"userIds": DROP}, 422, "userIds"),
            ("userIds empty", {"userIds": []}, 422, "userIds"),
            ("userIds bad", {"userIds": ["nope"]}, 422, "userIds"),
            ("userIds 501", {"userIds": FIVE_HUNDRED_AND_ONE}, 422, "userIds"),
            ("unknown", {"userIds": ["<unknown>"]}, 404, "user_not_found"),
            ("one unknown", {"userIds": ["<peer>", "<unknown>"]}, 404, "user_not_found"),
            ("role", {"role": "ADMIN"}, 422, "role"),
        ],
    ),
    *path_cases(
        [
            ("GET", "/spaces/nope", 404, None),
            ("GET", "/spaces/<unknown>", 404, "space_not_found"),
            ("GET", "/spaces/nope/conversations", 404, None),
            ("GET", "/spaces/<unknown>/conversations", 404, "space_not_found"),
            ("POST", "/spaces/nope/members", 404, None),
            ("DELETE", "/spaces/<s>/members/nope", 404, None),
            ("DELETE", "/spaces/<s>/members/<unknown>", 404, "member_not_found"),
            ("DELETE", "/spaces/<s>/members/<peer>", 404, "member_not_found"),
        ]
    ),
]

# Messages -----------------------------------------------------------------------------

MESSAGES = "/conversations/<g>/messages"
IDS_11 = THOUSAND_AND_ONE[:11]
IDS_101 = THOUSAND_AND_ONE[:101]
SEND = [
    *bad_limits(MESSAGES),
    *query_cases(
        MESSAGES,
        [
            ("before=nope", 422, "before"),
            ("after=nope", 422, "after"),
            ("aroundId=nope", 422, "aroundId"),
            ("before=<m2>&after=<m1>", 400, "invalid_cursor"),
            ("after=<m1>&aroundId=<m2>", 400, "invalid_cursor"),
            # A message of another conversation (the caller's, or not), or of none.
            *(
                (f"{cursor}=<{mid}>", 400, "invalid_cursor")
                for cursor in ("before", "after", "aroundId")
                for mid in ("k1", "h1", "unknown")
            ),
        ],
    ),
    *body_cases(
        "POST",
        MESSAGES,
        {"content": "hello"},
        [
            *bad_bodies("content"),
            ("content missing", {"content": DROP}, 422, "content"),
            ("content null", {"content": None}, 422, "content"),
            ("content empty", {"content": ""}, 422, "content"),
            ("content blank", {"content": " \t\n\u3000 "}, 422, "content"),
            ("content 10001", {"content": "x" * 10_001}, 422, "content"),
            ("content 10001 trimmed", {"content": f"  {'x' * 10_001}  "}, 422, "content"),
            ("content 11001", {"content": "x" * 11_001}, 422, "content"),
            *bad_strings("content"),
            ("type SYSTEM", {"type": "SYSTEM"}, 422, "type"),
            ("type unknown", {"type": "BOGUS"}, 400, "type"),
            ("type lower case", {"type": "text"}, 400, "type"),
            ("type int", {"type": 1}, 400, "type"),
            ("attachments string", {"attachments": "<f_mine>"}, 422, "attachments"),
            ("attachments bad", {"attachments": ["nope"]}, 422, "attachments"),
            ("attachment of another user", {"attachments": ["<f_stranger>"]}, 422, "attachments"),
            ("attachment is an avatar", {"attachments": ["<f_avatar>"]}, 422, "attachments"),
            ("attachment unknown", {"attachments": ["<unknown>"]}, 422, "attachments"),
            ("one foreign", {"attachments": ["<f_mine>", "<f_stranger>"]}, 422, "attachments"),
            ("attachments 11", {"attachments": IDS_11}, 422, "attachments"),
            ("parent bad", {"parentMessageId": "nope"}, 422, "parentMessageId"),
            ("parent hidden", {"parentMessageId": "<h1>"}, 422, "parentMessageId"),
            ("parent elsewhere", {"parentMessageId": "<k1>"}, 422, "parentMessageId"),
            ("parent unknown", {"parentMessageId": "<unknown>"}, 422, "parentMessageId"),
            ("mentions bad", {"mentions": ["nope"]}, 422, "mentions"),
            ("mentions outsider", {"mentions": ["<stranger>"]}, 422, "mentions"),
            ("mentions unknown", {"mentions": ["<unknown>"]}, 422, "mentions"),
            ("mentions 101", {"mentions": IDS_101}, 422, "mentions"),
            ("metadata string", {"metadata": "x"}, 422, "metadata"),
            ("metadata list", {"metadata": ["x"]}, 422, "metadata"),
            ("metadata over 4 KB", {"metadata": {"k": "v" * 4100}}, 422, "metadata"),
            ("metadata NUL value", {"metadata": {"k": NUL}}, 422, "metadata"),
            ("metadata NUL key", {"metadata": {NUL: 1}}, 422, "metadata"),
            ("metadata NUL nested", {"metadata": {"k": [{"d": NUL}]}}, 422, "metadata"),
            ("metadata surrogate", {"metadata": {"k": LONE}}, 422, "metadata"),
            ("metadata huge number", {"metadata": {"k": 10**30}}, 422, "metadata"),
            ("metadata NaN", b'{"content": "x", "metadata": {"k": NaN}}', 422, "metadata"),
            (
                "metadata Infinity",
                b'{"content": "x", "metadata": {"k": -Infinity}}',
                422,
                "metadata",
            ),
            ("optimisticId empty", {"optimisticId": ""}, 422, "optimisticId"),
            ("optimisticId 101", {"optimisticId": "o" * 101}, 422, "optimisticId"),
            *bad_strings("optimisticId"),
            ("clientTimestamp bad", {"clientTimestamp": "yesterday"}, 422, "clientTimestamp"),
            ("clientTimestamp huge", {"clientTimestamp": 10**30}, 422, "clientTimestamp"),
            *(
                (f"clientTimestamp {t}", {"clientTimestamp": t}, 422, "clientTimestamp")
                for t in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
            ),
            ("status", {"status": "READ"}, 422, "status"),
            ("seq", {"seq": 1}, 422, "seq"),
        ],
    ),
    *path_cases([("POST", "/conversations/nope/messages", 404, None)]),
]

ONE = MESSAGES
MESSAGE = [
    *path_cases(
        [
            ("GET", f"{ONE}/nope", 404, None),
            ("GET", f"{ONE}/<h1>", 404, "message_not_found"),
            ("GET", f"{ONE}/<k1>", 404, "message_not_found"),
            ("GET", f"{ONE}/<unknown>", 404, "message_not_found"),
            ("PATCH", f"{ONE}/nope", 404, None),
            ("DELETE", f"{ONE}/nope", 404, None),
            ("DELETE", f"{ONE}/<h1>", 404, "message_not_found"),
            ("DELETE", f"{ONE}/<k1>", 404, "message_not_found"),
            ("GET", f"{ONE}/nope/thread", 404, None),
            ("GET", f"{ONE}/<h1>/thread", 404, "message_not_found"),
            ("PUT", f"{ONE}/nope/read", 404, None),
            ("PUT", f"{ONE}/<h1>/read", 404, "message_not_found"),
            ("PUT", f"{ONE}/<k1>/read", 404, "message_not_found"),
            ("PUT", f"{ONE}/<unknown>/read", 404, "message_not_found"),
            ("PUT", "/conversations/nope/messages/<m1>/read", 404, None),
        ]
    ),
    *body_cases(
        "PATCH",
        f"{ONE}/<m1>",
        {"content": "edited"},
        [
            *bad_bodies("content"),
            ("content missing", {"content": DROP}, 422, "content"),
            ("content empty", {"content": ""}, 422, "content"),
            ("content blank", {"content": "  \n "}, 422, "content"),
            ("content 10001", {"content": "x" * 10_001}, 422, "content"),
            ("content 11001", {"content": "x" * 11_001}, 422, "content"),
            *bad_strings("content"),
            ("type", {"type": "SYSTEM"}, 422, "type"),
        ],
    ),
    *body_cases(
        "PATCH",
        f"{ONE}/<h1>",
        {"content": "edited"},
        [("message of a hidden conversation", {}, 404, "message_not_found")],
    ),
    *body_cases(
        "PATCH",
        f"{ONE}/<k1>",
        {"content": "edited"},
        [("own message through another conversation", {}, 404, "message_not_found")],
    ),
    *bad_limits(f"{ONE}/<m2>/thread"),
    *query_cases(
        f"{ONE}/<m2>/thread",
        [
            ("after=nope", 422, "after"),
            ("after=<k1>", 400, "invalid_cursor"),
            ("after=<h1>", 400, "invalid_cursor"),
            ("after=<m1>", 400, "invalid_cursor"),  # in the conversation, not the thread
            ("after=<unknown>", 400, "invalid_cursor"),
        ],
    ),
]

REACT = f"{ONE}/<m2>/reactions"
REACTIONS = [
    *body_cases(
        "POST",
        REACT,
        {"emoji": EMOJI},
        [
            *bad_bodies("emoji"),
            ("emoji missing", {"emoji": DROP}, 422, "emoji"),
            ("emoji empty", {"emoji": ""}, 422, "emoji"),
            ("emoji blank", {"emoji": " "}, 422, "emoji"),
            ("emoji padded", {"emoji": f" {EMOJI}"}, 422, "emoji"),
            ("emoji 33", {"emoji": "x" * 33}, 422, "emoji"),
            ("emoji 1 KB", {"emoji": EMOJI * 256}, 422, "emoji"),
            ("emoji newline", {"emoji": "\n"}, 422, "emoji"),
            ("emoji C1 control", {"emoji": f"{EMOJI}\u0085"}, 422, "emoji"),
            # DELETE …/reactions/:emoji could never name these (a slash, dot segments).
            ("emoji slash", {"emoji": f"{EMOJI}/{EMOJI}"}, 422, "emoji"),
            ("emoji dot", {"emoji": "."}, 422, "emoji"),
            ("emoji dot dot", {"emoji": ".."}, 422, "emoji"),
            *bad_strings("emoji"),
        ],
    ),
    *body_cases("POST", f"{ONE}/nope/reactions", {"emoji": EMOJI}, [("bad uuid", {}, 404, None)]),
    *body_cases(
        "POST",
        f"{ONE}/<h1>/reactions",
        {"emoji": EMOJI},
        [("hidden message", {}, 404, "message_not_found")],
    ),
    *body_cases(
        "POST",
        f"{ONE}/<k1>/reactions",
        {"emoji": EMOJI},
        [("message of another conversation", {}, 404, "message_not_found")],
    ),
    *path_cases(
        [
            ("DELETE", f"{REACT}/{'x' * 33}", 422, None),
            ("DELETE", f"{REACT}/{EMOJI * 256}", 422, None),
            ("DELETE", f"{REACT}/a%00b", 422, None),
            ("DELETE", f"{REACT}/%20{EMOJI}", 422, None),
            ("DELETE", f"{REACT}/%0A", 422, None),
            ("DELETE", f"{ONE}/<h1>/reactions/{EMOJI}", 404, "message_not_found"),
            ("DELETE", f"{ONE}/nope/reactions/{EMOJI}", 404, None),
        ]
    ),
]

CHANGES = "/conversations/<g>/changes"
SEARCH = "/search/messages"
READS = [
    *query_cases(
        CHANGES,
        [
            ("", 422, "since"),
            *((f"since={n}", 422, "since") for n in ("-1", str(2**63), str(10**30), "x", "1.5")),
            ("since=", 422, "since"),
        ],
    ),
    *bad_limits(f"{CHANGES}?since=0"),
    *path_cases([("GET", "/conversations/nope/changes?since=0", 404, None)]),
    *query_cases(
        SEARCH,
        [
            ("", 422, "q"),
            ("q=", 422, "q"),
            (f"q={'q' * 201}", 422, "q"),
            ("q=a%00b", 422, "q"),
            ("q=words&conversationId=nope", 422, "conversationId"),
            ("q=words&conversationId=<unknown>", 404, "conversation_not_found"),
            ("q=words&conversationId=<h>", 404, "conversation_not_found"),
            ("q=words&before=nope", 422, "before"),
            ("q=words&before=<h1>", 400, "invalid_cursor"),
            ("q=words&before=<unknown>", 400, "invalid_cursor"),
        ],
    ),
    *bad_limits(f"{SEARCH}?q=words"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "answer"),
    [*CONVERSATIONS, *PARTICIPANTS, *SPACES, *SEND, *MESSAGE, *REACTIONS, *READS],
)
async def test_bad_input_is_rejected_and_stores_nothing(
    scene: Scene, method: str, path: str, body: Any, answer: Expect
) -> None:
    before = scene.rows
    response = await request(scene, method, path, body)
    error = assert_error(response, answer.status, answer.code)
    if answer.field is not None:
        assert error["message"].startswith(answer.field), error
    after = scene.rows = await snapshot(scene.world.node)
    assert counts(after) == counts(before), "a rejected request stored rows"
    assert after == before, "a rejected request changed stored rows"


# Near the limits, and what the checks must still let through ---------------------------


@pytest.fixture
async def changing(scene: Scene) -> AsyncIterator[Scene]:
    """The scene, for a test that stores things: the next test starts from what it left."""
    yield scene
    scene.rows = await snapshot(scene.world.node)


async def test_content_at_the_limit_after_trimming_is_accepted(changing: Scene) -> None:
    scene = changing
    body = {"content": f" \n {'x' * 10_000} \t "}
    response = await request(scene, "POST", MESSAGES, body)
    assert response.status_code == 201, response.text
    assert response.json()["message"]["content"] == "x" * 10_000


@pytest.mark.parametrize(
    "emoji",
    [
        "\N{WAVING HAND SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-3}" * 16,  # 32 characters
        ":+1:",
        "100%",
        "?#",
        "...",
    ],
)
async def test_an_emoji_that_is_accepted_can_be_removed_again(changing: Scene, emoji: str) -> None:
    scene = changing
    response = await request(scene, "POST", REACT, {"emoji": emoji})
    assert response.status_code == 200, response.text
    assert [r["emoji"] for r in response.json()["reactions"]] == [emoji]
    gone = await request(scene, "DELETE", f"{REACT}/{quote(emoji, safe='')}")
    assert gone.status_code == 200, gone.text
    assert gone.json()["reactions"] == []


async def test_duplicate_ids_count_once(changing: Scene) -> None:
    scene = changing
    world, ids = scene.world, scene.ids
    created = await request(
        scene,
        "POST",
        "/conversations",
        {"type": "GROUP", "name": "twice", "participantIds": ["<peer>", "<peer>", "<caller>"]},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["conversation"]["id"]
    added = await request(
        scene, "POST", f"/conversations/{cid}/participants", {"userIds": ["<stranger>"] * 3}
    )
    assert added.status_code == 200, added.text
    joined = await request(scene, "POST", "/spaces/<s>/members", {"userIds": ["<peer>"] * 3})
    assert joined.status_code == 200, joined.text
    assert joined.json()["space"]["memberCount"] == 2
    async with world.node.services.db.read() as session:
        members = list(
            await session.scalars(
                select(Participant.user_id).where(
                    Participant.conversation_id == uuid.UUID(cid),
                    Participant.status == ParticipantStatus.ACTIVE,
                )
            )
        )
        in_space = list(
            await session.scalars(
                select(SpaceMember.user_id).where(
                    SpaceMember.space_id == uuid.UUID(ids.values["s"])
                )
            )
        )
    users = world.users
    assert sorted(members) == sorted(users[n].id for n in ("caller", "peer", "stranger"))
    assert sorted(in_space) == sorted(users[n].id for n in ("caller", "peer"))
    # Put the space back as the other cases expect it.
    removed = await request(scene, "DELETE", "/spaces/<s>/members/<peer>")
    assert removed.status_code == 200, removed.text


async def test_every_endpoint_requires_a_token(scene: Scene) -> None:
    endpoints = [
        ("GET", "/conversations"),
        ("POST", "/conversations"),
        ("GET", "/conversations/<g>"),
        ("PATCH", "/conversations/<g>"),
        ("PUT", "/conversations/<g>/settings"),
        ("POST", "/conversations/<g>/participants"),
        ("PATCH", "/conversations/<g>/participants/<peer>"),
        ("DELETE", "/conversations/<g>/participants/<peer>"),
        ("GET", "/spaces"),
        ("POST", "/spaces"),
        ("GET", "/spaces/<s>"),
        ("POST", "/spaces/<s>/members"),
        ("DELETE", "/spaces/<s>/members/<peer>"),
        ("GET", "/spaces/<s>/conversations"),
        ("GET", MESSAGES),
        ("POST", MESSAGES),
        ("GET", f"{ONE}/<m1>"),
        ("PATCH", f"{ONE}/<m1>"),
        ("DELETE", f"{ONE}/<m1>"),
        ("GET", f"{ONE}/<m2>/thread"),
        ("PUT", f"{ONE}/<m2>/read"),
        ("POST", REACT),
        ("DELETE", f"{REACT}/{EMOJI}"),
        ("GET", f"{CHANGES}?since=0"),
        ("GET", f"{SEARCH}?q=words"),
    ]
    before = scene.rows
    for method, path in endpoints:
        response = await scene.world.client.request(
            method, scene.ids.fill(path), json={"content": "x"}
        )
        assert_error(response, 401)
        forged = await scene.world.client.request(
            method, scene.ids.fill(path), headers={"Authorization": "Bearer not.a.token"}
        )
        assert_error(forged, 401)
    assert await snapshot(scene.world.node) == before

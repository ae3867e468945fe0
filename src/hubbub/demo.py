"""`hubbub demo`: a believable organisation in the configured database, to look at.

Everything is made through the actions the API uses (the same checks, the same
stored rows): people with avatars (drawn here with Pillow), spaces with channels,
groups, private chats, threads, reactions, a few files, and some weeks of history,
whose messages are sent now and then moved back in time (hubbub.store.history). The
run takes from no user's budget: the settings it composes lift them. A second run
finds the organisation's first user and changes nothing. Every login has the one
demo password, DEMO_PASSWORD.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hubbub.config import Budget, Settings
from hubbub.domain.enums import FileKind

if TYPE_CHECKING:  # imported when the command runs: `hubbub --help` stays instant
    from hubbub.edge.services import Services

DEMO_PASSWORD = "hubbub-demo-2026"
DOMAIN = "demo.hubbub.example"
# username, display name, what they do
PEOPLE = (
    ("mara", "Mara Lindqvist", "Product lead"),
    ("tomas", "Tomás Ferreira", "Backend engineer"),
    ("aiko", "Aiko Tanaka", "Designer"),
    ("dev", "Devika Rao", "Frontend engineer"),
    ("sam", "Sam Okafor", "Support"),
    ("lena", "Lena Vogel", "Engineering manager"),
    ("omar", "Omar Haddad", "SRE"),
    ("ines", "Inès Moreau", "Marketing"),
    ("yuki", "Yuki Sato", "QA engineer"),
    ("noah", "Noah Becker", "Sales"),
    ("priya", "Priya Nair", "Data analyst"),
    ("jonas", "Jonas Berg", "Backend engineer"),
)
SPACES = (
    ("Engineering", "Everything we build", ("general", "backend", "releases")),
    ("Design", "Pixels and the people behind them", ("general", "critique")),
    ("Company", "All hands, all the time", ("announcements", "random")),
)
LINES = (
    "Morning! Anyone else seeing the build take ages today?",
    "Pushed the fix, CI is green now.",
    "Can we move the sync to 3 pm?",
    "Looks good to me 👍",
    "I left a few comments on the draft.",
    "The new onboarding flow is live on staging.",
    "Who owns the flaky search test?",
    "Lunch at the usual place?",
    "Release notes are in the doc, please have a look.",
    "Thanks, that helped a lot!",
    "I'll pair with you on this after standup.",
    "Customer asked about exports again, sending them the docs.",
    "Dashboards are back to normal after the deploy.",
    "Should we cut the release today or wait for the migration?",
    "Uploaded the latest mockups.",
    "Heads up: the office Wi-Fi is being replaced on Friday.",
)
REPLIES = ("Agreed.", "On it.", "Good catch!", "+1", "Let's discuss at standup.", "Done ✅")
EMOJI = ("👍", "🎉", "❤️", "😂", "👀", "🚀")
SIZES = {"small": (6, 1, 6), "full": (12, 3, 24)}  # people, weeks, messages per chat


@dataclass
class Person:
    id: uuid.UUID
    username: str
    name: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="full",
        help="small: 6 people and a week; full (default): 12 people and three weeks",
    )


def run(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    lifted = ",".join(f"{budget.key}=1000000/1000000" for budget in Budget)
    settings = settings.model_copy(
        update={"budgets": lifted, "send_rate_per_s": 1e6, "send_burst": 1_000_000}
    )
    return asyncio.run(_run(settings, SIZES[args.size], out))


async def _run(settings: Settings, size: tuple[int, int, int], out: TextIO) -> int:
    from hubbub.compose import build_services
    from hubbub.startup import prepare_to_serve

    await prepare_to_serve(settings)
    services = build_services(settings)  # the bus publishes without being started
    try:
        if await _exists(services, PEOPLE[0][0]):
            print("The demo organisation is already there; nothing changed.", file=out)
        else:
            await _fill(services, size, out)
            print("Done.", file=out)
        present = [p for p in PEOPLE if await _exists(services, p[0])]
        _print_logins(present, out)
        return 0
    finally:
        await services.close()


async def _exists(services: Services, username: str) -> bool:
    page = await services.admin_queries.users(username, None, 20)
    return any(user.username == username for user in page.users)


def _print_logins(people: list[tuple[str, str, str]], out: TextIO) -> None:
    print(f"Sign in as any of them with the password {DEMO_PASSWORD}:", file=out)
    for username, name, role in people:
        print(f"  {username:<8} {username + '@' + DOMAIN:<32} {name}, {role}", file=out)


async def _fill(services: Services, size: tuple[int, int, int], out: TextIO) -> None:
    people_count, weeks, per_chat = size
    rng = random.Random(2026)  # the same organisation every time
    people = []
    for index, (username, name, _role) in enumerate(PEOPLE[:people_count], start=1):
        people.append(await _person(services, username, name))
        print(f"people {index}/{people_count}", file=out)
    chats = await _conversations(services, people, rng)
    print(f"spaces {len(SPACES)}, conversations {len(chats)}", file=out)
    span = timedelta(weeks=weeks)
    for index, chat in enumerate(chats, start=1):
        await _history(services, chat, count=per_chat, span=span, rng=rng)
        print(f"history {index}/{len(chats)}", file=out)


async def _person(services: Services, username: str, name: str) -> Person:
    from hubbub.wire.models import UpdateMe

    me = await services.auth.create_user(username, f"{username}@{DOMAIN}", DEMO_PASSWORD, name)
    avatar = await _upload(services, me.id, FileKind.AVATAR, _avatar_png(name), "avatar.png")
    await services.users.update_me(me.id, UpdateMe.model_validate({"avatar": str(avatar)}))
    return Person(me.id, username, name)


async def _upload(
    services: Services, owner: uuid.UUID, kind: FileKind, data: bytes, filename: str
) -> uuid.UUID:
    from hubbub.actions.files import ReceivedFile

    temp = services.files.temp_dir / f"demo-{uuid.uuid4().hex}"
    await asyncio.to_thread(temp.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(temp.write_bytes, data)
    try:
        await services.files.begin_upload(owner)
        stored = await services.files.store_upload(
            owner, kind, ReceivedFile(path=temp, size=len(data), filename=filename)
        )
    finally:
        await asyncio.to_thread(Path(temp).unlink, missing_ok=True)
    return stored.id


def _avatar_png(name: str) -> bytes:
    """A round-cornered square in a colour of the name, with its initials."""
    from PIL import Image, ImageDraw

    hue = sum(map(ord, name)) % 360
    image = Image.new("RGB", (128, 128), f"hsl({hue}, 55%, 45%)")
    draw = ImageDraw.Draw(image)
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    draw.text((64, 64), initials, fill="white", anchor="mm", font_size=56)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def _conversations(
    services: Services, people: list[Person], rng: random.Random
) -> list[tuple[uuid.UUID, list[Person]]]:
    """The spaces with their channels, two groups and a few private chats: each
    conversation with the people in it."""
    from hubbub.wire.models import CreateConversation, CreateSpace

    chats: list[tuple[uuid.UUID, list[Person]]] = []
    owner = people[0]
    for name, description, channels in SPACES:
        space = await services.spaces.create(
            owner.id, CreateSpace.model_validate({"name": name, "description": description})
        )
        await services.spaces.add_members(owner.id, space.id, [p.id for p in people[1:]])
        for channel in channels:
            view, _ = await services.conversations.create(
                owner.id,
                CreateConversation.model_validate(
                    {"type": "SPACE", "name": channel, "spaceId": str(space.id)}
                ),
            )
            chats.append((view.id, people))
    for name, members in (("Launch crew", people[:4]), ("Lunch club", people[2:])):
        view, _ = await services.conversations.create(
            members[0].id,
            CreateConversation.model_validate(
                {"type": "GROUP", "name": name, "participantIds": [str(p.id) for p in members[1:]]}
            ),
        )
        chats.append((view.id, members))
    for first, second in zip(people, people[1:] + people[:1], strict=True):
        view, _ = await services.conversations.create(
            first.id,
            CreateConversation.model_validate(
                {"type": "PRIVATE", "participantIds": [str(second.id)]}
            ),
        )
        chats.append((view.id, [first, second]))
    rng.shuffle(chats)
    return chats


async def _history(
    services: Services,
    chat: tuple[uuid.UUID, list[Person]],
    *,
    count: int,
    span: timedelta,
    rng: random.Random,
) -> None:
    """`count` messages from the members, some with replies, reactions or a file,
    then spread over `span` up to an hour ago."""
    from hubbub.domain.ids import utcnow
    from hubbub.store.history import backdate_txn
    from hubbub.wire.models import SendMessage

    conversation_id, members = chat
    sent: list[uuid.UUID] = []
    for index in range(count):
        sender = rng.choice(members)
        body: dict[str, object] = {"content": rng.choice(LINES)}
        if sent and rng.random() < 0.2:
            body = {"content": rng.choice(REPLIES), "parentMessageId": str(rng.choice(sent))}
        elif index == count // 2:
            chart = _avatar_png(f"{sender.name} chart")
            file_id = await _upload(
                services, sender.id, FileKind.MESSAGE_ATTACHMENT, chart, "chart.png"
            )
            body = {"content": "Latest numbers attached.", "attachments": [str(file_id)]}
        outcome = await services.send.send_message(
            sender.id, conversation_id, SendMessage.model_validate(body)
        )
        sent.append(outcome.message.id)
        if rng.random() < 0.3:
            reactor = rng.choice(members)
            await services.message_changes.react(
                reactor.id, conversation_id, outcome.message.id, rng.choice(EMOJI), add=True
            )
    end = utcnow() - timedelta(hours=1)
    step = span / max(1, len(sent))
    times = {message: end - span + step * i for i, message in enumerate(sent)}
    async with services.db.write() as session:
        await backdate_txn(session, conversation_id, times)

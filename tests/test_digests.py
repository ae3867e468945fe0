"""Email digests through a real SMTP server the tests start (aiosmtpd).

Messages are back-dated past the threshold rather than waited for. Rounds are run by
the tests (`Digests.run_round`, what the node's worker runs every
HUBBUB_DIGEST_CHECK_S) so that what each round sent is known; one test leaves it to
the worker the lifespan started. On PostgreSQL two nodes run rounds at once over the
same users, and each digest leaves once.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from hubbub.actions.digests import Digests
from hubbub.actions.mail import SmtpMailer
from hubbub.app import Node, create_app
from hubbub.domain.ids import utcnow
from hubbub.security.unsubscribe import UnsubscribeTokens
from hubbub.store.models import DigestState, Message
from hubbub.tracing import NoTracing
from tests.chat import create_group, create_private, send
from tests.conftest import Account, Backend, RegisterFn, assert_error, count_rows, make_settings
from tests.mail import Inbox, smtp_server  # noqa: F401 (the `smtp` fixture)

PUBLIC = "https://chat.example"


def overrides(port: int, **more: Any) -> dict[str, Any]:
    return {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "smtp_from": "hubbub <no-reply@chat.example>",
        "public_url": PUBLIC + "/",
        "digest_after_s": 600,
        "digest_every_s": 3600,
        # The worker's own rounds stay out of the way; the tests run theirs.
        "digest_check_s": 3600,
        **more,
    }


# The test that leaves rounds to the node's own worker runs it often.
OWN_WORKER = "test_the_nodes_worker_sends_by_itself_and_only_with_smtp"


@pytest.fixture
def settings_overrides(smtp: tuple[Inbox, int], request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.node.name == OWN_WORKER:
        return overrides(smtp[1], digest_check_s=0.1)
    return overrides(smtp[1])


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    inbox = smtp[0]
    inbox.received.clear()
    inbox.refuse.clear()
    return inbox


async def back_date(node: Node, conversation_ids: Iterable[str], minutes: float = 180) -> None:
    """Make the new messages of these conversations (sent in the last 5 minutes) this
    old: past the threshold (10 minutes)."""
    ids = [uuid.UUID(c) for c in conversation_ids]
    now = utcnow()
    async with node.services.db.write() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id.in_(ids))
            .where(Message.created_at > now - timedelta(minutes=5))
            .values(created_at=now - timedelta(minutes=minutes))
        )


async def rewind_digests(node: Node, *, sent: float, covered: float) -> None:
    """As if every last digest had been sent `sent` minutes ago, listing what was sent
    until `covered` minutes ago."""
    now = utcnow()
    async with node.services.db.write() as session:
        await session.execute(
            update(DigestState).values(
                last_sent_at=now - timedelta(minutes=sent),
                covered_until=now - timedelta(minutes=covered),
            )
        )


async def two_with_a_dm(
    client: httpx.AsyncClient, register: RegisterFn
) -> tuple[Account, Account, str]:
    """ann and ben, and their private conversation."""
    ann, ben = await register("ann"), await register("ben")
    return ann, ben, await create_private(client, ben, ann)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


def links_of(message: EmailMessage) -> list[tuple[str, str]]:
    """The (conversation id, message id) of every message link, in order."""
    found = re.findall(
        rf"{PUBLIC}/c/([0-9a-f-]{{36}})\?message=([0-9a-f-]{{36}})", text_of(message)
    )
    return [(c, m) for c, m in found]


def unsubscribe_path(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    found = re.fullmatch(rf"<{PUBLIC}(/digests/unsubscribe\?token=[A-Za-z0-9_.-]+)>", header)
    assert found, header
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"{PUBLIC}{found.group(1)}" in text_of(message)
    return found.group(1)


async def test_a_digest_lists_unread_mentions_and_direct_messages_once_a_period(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, inbox: Inbox
) -> None:
    ann, ben, cat = await register("ann"), await register("ben"), await register("cat")
    dm = await create_private(client, ben, ann)
    team = await create_group(client, cat, ann, ben, name="team")
    quiet = await create_group(client, cat, ann, name="quiet")
    r = await client.put(
        f"/conversations/{quiet}/settings",
        headers=ann.headers,
        json={"mutedUntil": (utcnow() + timedelta(days=1)).isoformat()},
    )
    assert r.status_code == 200, r.text
    direct = await send(client, ben, dm, "are you coming tonight?")
    mention = await send(client, cat, team, "@ann please review", mentions=[str(ann.id)])
    await send(client, cat, team, "lunch is here")  # mentions nobody: not listed
    everyone = await send(client, cat, team, "@all standup", metadata={"mentionAll": True})
    await send(client, cat, quiet, "@ann in the muted one", mentions=[str(ann.id)])
    await send(client, ann, dm, "ann's own message")  # ben's DM: unread by ben
    await back_date(node, [dm, team, quiet])
    # ben's unread DM from ann is a digest too; read it, so that only ann's is due.
    r = await client.put(f"/conversations/{dm}/messages/{direct['id']}/read", headers=ann.headers)
    assert r.status_code == 200, r.text
    last = (await client.get(f"/conversations/{dm}/messages", headers=ben.headers)).json()
    newest = max(last["messages"], key=lambda m: m["seq"])
    r = await client.put(f"/conversations/{dm}/messages/{newest['id']}/read", headers=ben.headers)
    assert r.status_code == 200, r.text
    # ann read the DM: it leaves her digest; a new unread DM takes its place.
    again = await send(client, ben, dm, "hello again?")
    await back_date(node, [dm])

    # ann's digest, and ben's: @all mentions him too.
    assert await node.services.digests.run_round() == 2
    assert "@all standup" in text_of(await inbox.wait_for(ben.email))
    message = await inbox.wait_for(ann.email)
    assert message["From"] == "hubbub <no-reply@chat.example>"
    assert message["Subject"] == "You missed 3 messages on hubbub"
    text = text_of(message)
    assert "@all standup" in text
    assert "hello again?" in text
    assert "@ann please review" in text
    for absent in ("muted one", "lunch", "are you coming", "own message"):
        assert absent not in text, text
    assert "cat in team mentioned you" in text
    assert links_of(message) == [  # oldest first
        (team, mention["id"]),
        (team, everyone["id"]),
        (dm, again["id"]),
    ]
    unsubscribe_path(message)
    # Each link opens the web client at that conversation.
    for cid, mid in links_of(message):
        page = await client.get(f"/c/{cid}?message={mid}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
    assert sorted(rcpt[0] for rcpt, _ in inbox.received) == [ann.email, ben.email]

    # No second email in the same period, even with something new and old enough.
    await rewind_digests(node, sent=30, covered=40)
    await send(client, cat, team, "@ann one more", mentions=[str(ann.id)])
    await back_date(node, [team], minutes=20)
    assert await node.services.digests.run_round() == 0
    assert len(inbox.received) == 2
    assert await count_rows(node, "digest_state") == 2
    # The next period lists only what the first did not.
    await rewind_digests(node, sent=120, covered=40)
    assert await node.services.digests.run_round() == 1
    second = await inbox.wait_for(ann.email, count=2)
    assert second["Subject"] == "You missed a message on hubbub"
    assert "one more" in text_of(second)
    assert "please review" not in text_of(second)


async def test_nothing_unread_or_nothing_old_enough_sends_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, inbox: Inbox
) -> None:
    ann, ben, dm = await two_with_a_dm(client, register)
    read = await send(client, ben, dm, "read at once")
    r = await client.put(f"/conversations/{dm}/messages/{read['id']}/read", headers=ann.headers)
    assert r.status_code == 200, r.text
    await back_date(node, [dm])
    await send(client, ben, dm, "too recent")  # unread, but for seconds only
    assert await node.services.digests.run_round() == 0
    assert inbox.received == []
    assert await count_rows(node, "digest_state") == 0
    # The same message, once old enough, is sent.
    await back_date(node, [dm])
    assert await node.services.digests.run_round() == 1
    assert "too recent" in text_of(await inbox.wait_for(ann.email))

    # Private messages at level `nothing` by the user's own default: no email, and what
    # was looked at is covered (the user is not read again every round).
    cat = await register("cat")
    r = await client.patch(
        "/users/me/notifications", headers=cat.headers, json={"private": "nothing"}
    )
    assert r.status_code == 200, r.text
    room = await create_private(client, ben, cat)
    await send(client, ben, room, "for cat")
    await back_date(node, [room])
    assert await node.services.digests.run_round() == 0
    async with node.services.db.read() as session:
        state = await session.get(DigestState, cat.id)
    assert state is not None
    assert state.last_sent_at is None
    assert len(inbox.received) == 1


async def test_the_unsubscribe_link_stops_digests(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, inbox: Inbox
) -> None:
    ann, ben, dm = await two_with_a_dm(client, register)
    await send(client, ben, dm, "to ann")
    await send(client, ann, dm, "to ben")
    await back_date(node, [dm])
    assert await node.services.digests.run_round() == 2
    path = unsubscribe_path(await inbox.wait_for(ann.email))

    page = await client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert "Unsubscribe" in page.text
    prefs = await client.get("/users/me/notifications", headers=ann.headers)
    assert prefs.json()["digests"] is True  # a GET changes nothing
    done = await client.post(path, content="List-Unsubscribe=One-Click")
    assert done.status_code == 200, done.text
    assert "are off" in done.text
    prefs = await client.get("/users/me/notifications", headers=ann.headers)
    assert prefs.json()["digests"] is False
    assert (await client.post(path)).status_code == 200  # again: still off

    await rewind_digests(node, sent=120, covered=150)
    await send(client, ben, dm, "to ann again")
    await send(client, ann, dm, "to ben again")
    await back_date(node, [dm], minutes=60)
    assert await node.services.digests.run_round() == 1
    await inbox.wait_for(ben.email, count=2)
    assert len(inbox.to(ann.email)) == 1
    # Turned back on in the settings, the next period's digest comes.
    r = await client.patch("/users/me/notifications", headers=ann.headers, json={"digests": True})
    assert r.json()["digests"] is True


async def test_a_bad_or_forged_unsubscribe_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    genuine = node.services.digests.unsubscribe_url(ann.id).split("token=")[1]
    of_ben = node.services.digests.unsubscribe_url(ben.id).split("token=")[1]
    forged = [
        genuine.split(".")[0] + "." + of_ben.split(".")[1],  # ann's id, ben's signature
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        genuine + "=",
        "nonsense",
        "a.b",
        "x" * 300,
    ]
    for token in forged:
        for method in ("GET", "POST"):
            r = await client.request(method, "/digests/unsubscribe", params={"token": token})
            if len(token) > 200:
                assert_error(r, 422)
            else:
                assert_error(r, 400, "invalid_unsubscribe_token")
    assert_error(await client.post("/digests/unsubscribe"), 422)
    for who in (ann, ben):
        prefs = await client.get("/users/me/notifications", headers=who.headers)
        assert prefs.json()["digests"] is True
    assert await count_rows(node, "notification_preferences") == 0


async def test_the_nodes_worker_sends_by_itself_and_only_with_smtp(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, inbox: Inbox
) -> None:
    ann, ben, dm = await two_with_a_dm(client, register)
    # Without SMTP (or with a period of 0) there is no worker, and a round sends nothing.
    for mailer, every_s in ((None, 3600), (SmtpMailer("smtp://127.0.0.1:1", "x@y"), 0)):
        idle = Digests(
            node.services.db,
            mailer,
            UnsubscribeTokens("k" * 32),
            public_url=PUBLIC,
            after_s=600,
            every_s=every_s,
            check_s=0.01,
            batch=10,
            tracing=NoTracing(),
        )
        idle.start()
        assert not idle.enabled
        assert await idle.run_round() == 0
        await idle.close()
    await send(client, ben, dm, "the worker's")
    await back_date(node, [dm])
    message = await inbox.wait_for(ann.email)
    assert "the worker's" in text_of(message)
    assert len(inbox.received) == 1


class StuckMailer:
    """A mail server that never answers: the node stops while sending."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def send(self, to: str, subject: str, body: str, headers: Any = None) -> None:
        self.called.set()
        await asyncio.Event().wait()


async def test_a_refused_email_is_tried_again_and_a_stop_mid_send_never_sends_twice(
    client: httpx.AsyncClient, node: Node, register: RegisterFn, inbox: Inbox
) -> None:
    ann, ben, dm = await two_with_a_dm(client, register)
    await send(client, ben, dm, "please answer")
    await back_date(node, [dm])
    # The mail server refuses it: the period is given back, and the next round sends.
    inbox.refuse.add(ann.email)
    assert await node.services.digests.run_round() == 0
    assert await count_rows(node, "digest_state") == 0
    inbox.refuse.clear()
    assert await node.services.digests.run_round() == 1
    await inbox.wait_for(ann.email)

    # A node that stops while sending has claimed the period first: nobody sends again.
    await rewind_digests(node, sent=120, covered=150)
    await send(client, ben, dm, "still there?")
    await back_date(node, [dm], minutes=60)
    stuck = StuckMailer()
    dying = Digests(
        node.services.db,
        stuck,
        UnsubscribeTokens("k" * 32),
        public_url=PUBLIC,
        after_s=600,
        every_s=3600,
        check_s=3600,
        batch=10,
        tracing=NoTracing(),
    )
    mid_send = asyncio.create_task(dying.run_round())
    await asyncio.wait_for(stuck.called.wait(), 10)
    mid_send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await mid_send
    assert await node.services.digests.run_round() == 0
    assert len(inbox.to(ann.email)) == 1


async def test_two_nodes_send_each_digest_once(
    backend: Backend,
    client: httpx.AsyncClient,
    node: Node,
    *,
    register: RegisterFn,
    inbox: Inbox,
    settings_overrides: dict[str, Any],
) -> None:
    if not backend.is_postgres:
        pytest.skip("several nodes share a database on PostgreSQL")
    ben = await register("ben")
    users = [await register(f"user{i}") for i in range(6)]
    rooms = [await create_private(client, ben, u) for u in users]
    for room in rooms:
        await send(client, ben, room, "hello from ben")
    await back_date(node, rooms)
    other = create_app(make_settings(backend, **settings_overrides))
    async with other.http.router.lifespan_context(other.http):
        for round_no in range(3):
            sent = await asyncio.gather(
                node.services.digests.run_round(), other.services.digests.run_round()
            )
            assert sum(sent) == (len(users) if round_no == 0 else 0)
    for u in users:
        await inbox.wait_for(u.email)
    assert sorted(rcpt[0] for rcpt, _ in inbox.received) == sorted(u.email for u in users)

"""The SDK's live side against a real `hubbub serve`: every kind of event, through the
iterator and through handlers; resuming from stored numbers; the blocking facade."""

from __future__ import annotations

import asyncio

import pytest

from hubbub.client import (
    AsyncClient,
    Client,
    Connected,
    ConversationCreated,
    ConversationUpdated,
    Disconnected,
    HubbubError,
    MessageDeleted,
    MessagesDelivered,
    MessagesRead,
    MessageUpdated,
    NewMessage,
    Notification,
    NotLoggedIn,
    ParticipantAdded,
    ParticipantRemoved,
    StopTyping,
    Typing,
    UnreadCount,
    UserOffline,
    UserOnline,
    UserUpdated,
)
from tests.gw import Server
from tests.sdk import PASSWORD, Relay, signed_up


async def test_every_event_reaches_the_iterator_and_the_handlers(sdk_server: Server) -> None:
    a, b, c = [await signed_up(sdk_server.base) for _ in range(3)]
    try:
        group = await a.create_group("live", [b.user.id, c.user.id])
        handled: list[NewMessage] = []

        @b.on(NewMessage)
        async def on_new(event: NewMessage) -> None:
            handled.append(event)

        heard_by_a, heard_by_b = a.events(), b.events()
        await a.connect()
        await b.connect()
        assert a.connected
        assert b.connected
        assert (await heard_by_b.next(Connected)).reconnect is False
        with pytest.raises(RuntimeError, match="already connected"):
            await b.connect()

        # Presence: c comes online, then goes.
        await c.connect()
        await heard_by_b.next(UserOnline, lambda e: e.user_id == c.user.id)
        assert (await b.presence([c.user.id]))[c.user.id].is_online is True
        await c.close()
        await heard_by_b.next(UserOffline, lambda e: e.user_id == c.user.id)

        # Typing.
        await a.typing(group.id)
        assert (await heard_by_b.next(Typing)).user_id == a.user.id
        await a.stop_typing(group.id)
        assert (await heard_by_b.next(StopTyping)).user_id == a.user.id

        # A message over the socket; its markers; the unread count.
        sent = await a.send(group.id, "hello")
        new = await heard_by_b.next(NewMessage)
        assert (new.message.id, new.message.content) == (sent.id, "hello")
        assert (await heard_by_b.next(UnreadCount)).unread_count == 1
        await b.mark_delivered(group.id, sent.id)
        assert (await heard_by_a.next(MessagesDelivered)).user_id == b.user.id
        await b.mark_read(group.id, sent.id)
        assert (await heard_by_a.next(MessagesRead)).seq == sent.seq

        # Reactions, edits, threads and deletions come as changes of the message.
        await b.react(group.id, sent.id, "🎉")
        updated = await heard_by_a.next(MessageUpdated)
        assert [r.emoji for r in updated.message.reactions] == ["🎉"]
        await a.edit_message(group.id, sent.id, "hello!")
        edited = await heard_by_b.next(MessageUpdated, lambda e: e.message.edited_at is not None)
        assert edited.message.content == "hello!"
        reply = await b.send(group.id, "in the thread", reply_to=sent.id)
        in_thread = await heard_by_a.next(NewMessage, lambda e: e.message.id == reply.id)
        assert in_thread.message.thread_id == sent.id
        root = await heard_by_a.next(MessageUpdated)
        assert (root.message.id, root.message.reply_count) == (sent.id, 1)
        await a.delete_message(group.id, sent.id)
        assert (await heard_by_b.next(MessageDeleted)).message.id == sent.id

        # The conversation and its people.
        await a.update_me(display_name="Ada")
        assert (await heard_by_b.next(UserUpdated)).user.display_name == "Ada"
        await a.update_conversation(group.id, name="renamed")
        assert (await heard_by_b.next(ConversationUpdated)).conversation.name == "renamed"
        await a.remove_participant(group.id, c.user.id)
        assert (await heard_by_b.next(ParticipantRemoved)).user_id == c.user.id
        await a.add_participants(group.id, [c.user.id])
        assert (await heard_by_b.next(ParticipantAdded)).participant.user_id == c.user.id
        other = await a.create_group("second", [b.user.id])
        assert (await heard_by_b.next(ConversationCreated)).conversation.id == other.id
        there = await a.send(other.id, "over here")
        assert (await heard_by_b.next(NewMessage)).message.id == there.id
        # A direct message is worth interrupting for (the rules' default): b, online,
        # hears a `notification` of it too.
        direct = await a.create_private(b.user.id)
        dm = await a.send(direct.id, "psst")
        note = await heard_by_b.next(Notification, lambda e: e.message_id == dm.id)
        assert (note.conversation_id, note.sender_id, note.body) == (direct.id, a.user.id, "psst")

        # Every new message exactly once, the same through handlers and the iterator, and
        # the numbers the client holds are the conversations' last ones.
        for _ in range(200):  # handlers run in their own task, a moment after the stream
            if handled and handled[-1].message.id == dm.id:
                break
            await asyncio.sleep(0.01)
        texts = [e.message.content for e in handled]
        assert texts.count("in the thread") == 1
        assert texts.count("over here") == 1
        positions = b.positions
        assert positions[other.id] == there.seq
        assert positions[group.id] == (await b.conversation(group.id)).last_seq
        heard_by_b.close()
    finally:
        for client in (a, b, c):
            await client.close()


async def test_resume_from_stored_numbers_hands_on_what_came_since_in_order(
    sdk_server: Server,
) -> None:
    a, b = await signed_up(sdk_server.base), await signed_up(sdk_server.base)
    try:
        group = await a.create_group("resume", [b.user.id])
        stream = b.events()
        await b.connect()
        first = await a.send(group.id, "before")
        assert (await stream.next(NewMessage)).message.id == first.id
        stored = b.positions
        await b.close()
        later = [await a.send(group.id, f"while away {n}") for n in range(5)]
        await a.edit_message(group.id, later[0].id, "while away 0, edited")

        again = AsyncClient(sdk_server.base)
        await again.login(b.user.username, PASSWORD)
        stream = again.events()
        await again.connect(resume_from=stored)
        seen = [await stream.next(NewMessage) for _ in later]
        assert [e.message.id for e in seen] == [m.id for m in later]
        assert seen[0].message.content == "while away 0, edited"  # its latest form
        assert again.positions[group.id] == (await a.conversation(group.id)).last_seq
        await again.close()
    finally:
        await a.close()
        await b.close()


async def test_a_conversation_joined_while_away_is_resumed_too(sdk_server: Server) -> None:
    relay = Relay(sdk_server)
    await relay.start()
    a = await signed_up(sdk_server.base)
    b = await signed_up(relay.base, max_backoff_s=0.2)
    try:
        stream = b.events()
        await b.connect()
        relay.refusing = True  # b's node is unreachable for a while
        relay.cut()
        await stream.next(Disconnected)
        group = await a.create_group("made while away", [b.user.id])
        missed = [await a.send(group.id, f"missed {n}") for n in range(3)]
        relay.refusing = False
        # The resume hands on what it brings, then announces the connection.
        seen = [await stream.next(NewMessage) for _ in missed]
        assert (await stream.next(Connected)).reconnect is True
        assert [e.message.id for e in seen] == [m.id for m in missed]
        assert b.positions[group.id] == missed[-1].seq
    finally:
        await a.close()
        await b.close()
        await relay.stop()


async def test_connect_refuses_clearly_without_a_live_session(sdk_server: Server) -> None:
    nobody = AsyncClient(sdk_server.base)
    with pytest.raises(NotLoggedIn):
        await nobody.connect()
    await nobody.close()
    ended = await signed_up(sdk_server.base)
    other = AsyncClient(sdk_server.base)
    try:
        await other.login(ended.user.username, PASSWORD)
        gone = next(s for s in await other.sessions() if not s.current)
        await other.end_session(gone.id)
        with pytest.raises(HubbubError) as refused:
            await ended.connect()
        assert refused.value.status == 401
        assert not ended.connected
    finally:
        await ended.close()
        await other.close()


def test_the_blocking_client_for_scripts(sdk_server: Server) -> None:
    with Client(sdk_server.base) as first, Client(sdk_server.base) as second:
        me = first.register("sdk_script_a", "sdk_script_a@example.com", PASSWORD)
        other = second.register("sdk_script_b", "sdk_script_b@example.com", PASSWORD)
        assert first.me().id == me.id
        assert first.run(first.aio.get_user(other.id)).username == "sdk_script_b"
        assert [u.id for u in first.search_users("sdk_script_b")] == [other.id]
        group = first.create_group("scripted", [other.id])
        sent = first.send(group.id, "from a script")
        assert [c.id for c in second.conversations()] == [group.id]
        assert sent.id in [m.id for m in second.messages(group.id)]
        second.logout()
        assert second.login("sdk_script_b", PASSWORD).id == other.id

"""The SDK's integrations calls against a real `hubbub serve`: a bot made and given a
token, signed in with it (no password, no refresh) to hear and answer over the live
socket; its token revoked; a personal token bounded by its scopes; an incoming webhook
made, posted to, rotated and deleted; a bot's event subscriptions; Web Push
subscriptions."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hubbub.client import AsyncClient, HubbubError, NewMessage, NotLoggedIn
from tests.conftest import Backend
from tests.gw import Server
from tests.sdk import signed_up


async def test_a_bot_signs_in_with_its_token_hears_and_answers(sdk_server: Server) -> None:
    owner = await signed_up(sdk_server.base)
    bot_client = AsyncClient(sdk_server.base)
    try:
        bot = await owner.create_bot(f"bot_{owner.user.username[4:]}", display_name="Helper")
        assert bot.user.is_bot is True
        assert bot.owner_id == owner.user.id
        assert [b.user.id for b in await owner.bots()] == [bot.user.id]
        made = await owner.create_token("main", ["read", "send"], bot_id=bot.user.id)
        assert [t.id for t in await owner.tokens(bot_id=bot.user.id)] == [made.token.id]
        assert await owner.tokens() == []  # the owner's own are apart

        me = await bot_client.login_with_token(made.secret)
        assert (me.id, me.is_bot) == (bot.user.id, True)
        group = await owner.create_group("with a bot", [bot.user.id])
        heard = bot_client.events()
        await bot_client.connect()
        sent = await owner.send(group.id, "ping")
        new = await heard.next(NewMessage, lambda e: e.message.id == sent.id)
        answer = await bot_client.send(new.conversation_id, "pong")
        page = await owner.messages(group.id)
        assert [(m.content, m.sender_id) for m in page.messages[-2:]] == [
            ("ping", owner.user.id),
            ("pong", bot.user.id),
        ]
        assert page.messages[-1].id == answer.id

        # Revoked: the next call is refused as it is (no refresh is tried), and the
        # live connection ends with it.
        await owner.revoke_token(made.token.id, bot_id=bot.user.id)
        with pytest.raises(HubbubError) as refused:
            await bot_client.me()
        assert refused.value.status == 401
        assert bot_client.refreshes == 0
        with pytest.raises(HubbubError):
            await bot_client.run_forever()
    finally:
        await bot_client.close()
        await owner.close()


async def test_a_personal_token_is_bounded_by_its_scopes(sdk_server: Server) -> None:
    owner = await signed_up(sdk_server.base)
    reader = AsyncClient(sdk_server.base)
    stranger = AsyncClient(sdk_server.base)
    try:
        peer = await signed_up(sdk_server.base)
        group = await owner.create_group("read only", [peer.user.id])
        await peer.send(group.id, "hello")
        await peer.close()
        made = await owner.create_token("reader", ["read"])
        assert [t.scopes for t in await owner.tokens()] == [made.token.scopes]
        assert (await reader.login_with_token(made.secret)).id == owner.user.id
        assert [m.content for m in (await reader.messages(group.id)).messages] == ["hello"]
        with pytest.raises(HubbubError) as refused:
            await reader.send(group.id, "not with this token")
        assert (refused.value.status, refused.value.code) == (403, "insufficient_scope")
        assert [m.content for m in (await owner.messages(group.id)).messages] == ["hello"]

        # A token the server never made: refused, and the client is not signed in.
        with pytest.raises(HubbubError) as unknown:
            await stranger.login_with_token("hbt_not-a-token")
        assert unknown.value.status == 401
        with pytest.raises(NotLoggedIn):
            stranger.user  # noqa: B018
    finally:
        for client in (reader, stranger, owner):
            await client.close()


async def test_an_incoming_webhook_made_rotated_and_deleted(sdk_server: Server) -> None:
    owner = await signed_up(sdk_server.base)
    try:
        bot = await owner.create_bot(f"ci_{owner.user.username[4:]}")
        group = await owner.create_group("builds", [bot.user.id])
        hook = await owner.create_webhook(bot.user.id, group.id, "ci")
        assert [w.id for w in await owner.webhooks(bot.user.id)] == [hook.webhook.id]
        async with httpx.AsyncClient(timeout=10) as http:
            posted = await http.post(hook.url, json={"text": "build 12 passed"})
            assert posted.status_code == 201, posted.text
            rotated = await owner.rotate_webhook(bot.user.id, hook.webhook.id)
            assert rotated.url != hook.url
            assert (await http.post(hook.url, json={"text": "old"})).status_code == 404
            assert (await http.post(rotated.url, json={"text": "new"})).status_code == 201
            await owner.delete_webhook(bot.user.id, hook.webhook.id)
            assert (await http.post(rotated.url, json={"text": "gone"})).status_code == 404
        assert await owner.webhooks(bot.user.id) == []
        contents = [m.content for m in (await owner.messages(group.id)).messages]
        assert contents[-2:] == ["build 12 passed", "new"]
        await owner.delete_bot(bot.user.id)
        assert await owner.bots() == []
    finally:
        await owner.close()


async def test_a_bots_event_subscriptions_through_its_owner(sdk_server: Server) -> None:
    owner = await signed_up(sdk_server.base)
    try:
        bot = await owner.create_bot(f"hook_{owner.user.username[4:]}")
        # A public address, never reached here: only a ping is ever sent to it.
        made = await owner.subscribe_events("https://1.1.1.1/hook", ["direct"], bot_id=bot.user.id)
        assert made.secret
        listed = await owner.event_subscriptions(bot_id=bot.user.id)
        assert [(s.id, s.events) for s in listed] == [(made.subscription.id, ["direct"])]
        assert await owner.event_subscriptions() == []  # the owner's own are apart
        ping = await owner.ping_endpoint(made.subscription.id, bot_id=bot.user.id)
        assert ping.event == "ping"
        log = await owner.deliveries(made.subscription.id, bot_id=bot.user.id)
        assert [d.id for d in log] == [ping.id]
        # Private addresses are refused at once, and nothing is kept.
        with pytest.raises(HubbubError) as refused:
            await owner.subscribe_events("http://127.0.0.1:9/hook", ["direct"], bot_id=bot.user.id)
        assert refused.value.status == 422
        await owner.unsubscribe_events(made.subscription.id, bot_id=bot.user.id)
        assert await owner.event_subscriptions(bot_id=bot.user.id) == []
    finally:
        await owner.close()


async def test_web_push_subscriptions(sdk_server: Server, backend: Backend) -> None:
    user = await signed_up(sdk_server.base)
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = b64(point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    auth = b64(secrets.token_bytes(16))
    try:
        if backend.is_postgres:
            # Several nodes (Redis) and no key given: push is off, and says so.
            with pytest.raises(HubbubError) as off:
                await user.vapid_public_key()
            assert (off.value.status, off.value.code) == (404, "push_disabled")
            with pytest.raises(HubbubError) as refused:
                await user.push_subscribe("https://push.example.com/x", p256dh, auth)
            assert refused.value.code == "push_disabled"
            return
        key = await user.vapid_public_key()
        assert len(base64.urlsafe_b64decode(key + "==")) == 65
        made = await user.push_subscribe("https://push.example.com/x", p256dh, auth)
        assert [s.id for s in await user.push_subscriptions()] == [made.id]
        with pytest.raises(HubbubError) as plain:  # only https:// endpoints
            await user.push_subscribe("http://push.example.com/x", p256dh, auth)
        assert plain.value.status == 422
        await user.push_unsubscribe(made.id)
        assert await user.push_subscriptions() == []
    finally:
        await user.close()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

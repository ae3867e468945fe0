"""GET /asyncapi.json: an AsyncAPI 3.0 document of the Socket.IO events that tells the truth.

The document's shape is checked (channels, operations, messages, every reference
resolving), and then a scripted session against a real `hubbub serve` records what its
clients receive: every event must be declared, with a payload its model accepts, and
every declared server event must have been seen.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from hubbub.events.asyncapi import server_events
from hubbub.wire.socket import CLIENT_EVENTS
from tests.conftest import Backend
from tests.gw import Client, Server, clients, group, register, serving
from tests.hooks import Receiver, subscribe


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, ref
        node = node[part]
    return node


def every_ref(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in every_ref(value)]
    if isinstance(node, list):
        return [r for value in node for r in every_ref(value)]
    return []


async def test_the_document_has_the_asyncapi_3_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    channel = doc["channels"]["messaging"]
    assert channel["address"] == "/messaging"
    # Every reference in the document points at something in it.
    refs = every_ref(doc)
    assert len(refs) > 50
    for ref in refs:
        resolve(doc, ref)
    by_action: dict[str, set[str]] = {"send": set(), "receive": set()}
    for operation in doc["operations"].values():
        assert resolve(doc, operation["channel"]["$ref"]) is channel
        for message_ref in operation["messages"]:
            assert message_ref["$ref"].startswith("#/channels/messaging/messages/")
            message = resolve(doc, resolve(doc, message_ref["$ref"])["$ref"])
            payload = resolve(doc, message["payload"]["$ref"])
            assert payload["type"] == "object"
            assert payload["properties"]
            by_action[operation["action"]].add(message["name"])
    assert by_action["send"] == set(server_events())
    assert by_action["receive"] == set(CLIENT_EVENTS)
    # A payload schema is the model's own: its camelCase fields, its required ones.
    new_message = resolve(
        doc, doc["components"]["messages"]["server_new_message"]["payload"]["$ref"]
    )
    assert set(new_message["required"]) == {"message", "conversationId"}
    send = resolve(doc, doc["components"]["messages"]["client_send_message"]["payload"]["$ref"])
    assert {"conversationId", "content", "optimisticId"} <= set(send["properties"])
    assert {"conversationId", "optimisticId"} <= set(send["required"])


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    # The slash command's endpoint below is on the loopback.
    env = {"HUBBUB_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8", "HUBBUB_WEBHOOK_POLL_S": "0.2"}
    async with serving(
        backend, tmp_path_factory.mktemp("asyncapi"), env, presence_grace_s=0.2
    ) as srv:
        yield srv


def check_payload(model: type[BaseModel], payload: Any) -> None:
    """The payload fits the model, and carries no field the model does not declare."""
    assert isinstance(payload, dict), payload
    model.model_validate(payload)
    declared = {field.alias or name for name, field in model.model_fields.items()}
    assert set(payload) <= declared, (model.__name__, set(payload) - declared)


async def test_everything_a_real_session_emits_is_declared_with_its_payload(
    server: Server,
) -> None:
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=10) as http,
        clients(server.base) as connect,
    ):
        alice, bob, carol = await register(http), await register(http), await register(http)
        cid = await group(http, alice, bob)
        a: Client = await connect(alice)
        b: Client = await connect(bob)
        await a.wait_for("user_online", lambda d: d["userId"] == bob.id)

        # join / leave: the conversation's events stop for a socket, then come back.
        assert (await a.call("leave_conversation", {"conversationId": cid}))["ok"] is True
        assert (await a.call("join_conversation", {"conversationId": cid}))["ok"] is True

        # Send, react, edit, deliver, read, delete (a read marks delivered too).
        sent = await a.send(cid, "hello @bob", mentions=[bob.id])
        await b.wait_for("new_message", lambda d: d["message"]["id"] == sent["id"])
        # The mention interrupts bob under his rules (a group notifies of mentions).
        await b.wait_for("notification", lambda d: d["messageId"] == sent["id"])
        mid = sent["id"]
        one = f"/conversations/{cid}/messages/{mid}"
        assert (
            await http.post(f"{one}/reactions", headers=bob.headers, json={"emoji": "👍"})
        ).is_success
        assert (await http.patch(one, headers=alice.headers, json={"content": "hello!"})).is_success
        await b.wait_for("message_updated", count=2)
        ack = await b.call("mark_as_delivered", {"conversationId": cid, "messageId": mid})
        assert ack["ok"] is True
        await a.wait_for("messages_delivered")

        read = await b.call("mark_as_read", {"conversationId": cid, "messageId": mid})
        assert read["ok"] is True
        await b.wait_for("unread_count")
        await a.wait_for("messages_read")
        # Typing.
        await b.emit("typing", {"conversationId": cid})
        await a.wait_for("typing")
        await b.emit("stop_typing", {"conversationId": cid})
        await a.wait_for("stop_typing")

        # A slash command whose answer is for its caller only (bob answers it).
        receiver = Receiver()
        await receiver.start()
        try:
            _, endpoint = await subscribe(http, bob, receiver, "ask", ["command"])
            endpoint.reply = lambda _: {"content": "just for you", "ephemeral": True}
            r = await http.post(
                f"/conversations/{cid}/commands", headers=bob.headers, json={"name": "ask"}
            )
            assert r.status_code == 201, r.text
            asked = await a.call(
                "send_message", {"conversationId": cid, "content": "/ask", "optimisticId": "q"}
            )
            assert asked["ok"] is True, asked
            await a.wait_for("command_reply")
        finally:
            await receiver.stop()

        # A profile, a rename, one's own settings.
        assert (await http.put("/users/me", headers=bob.headers, json={"bio": "hi"})).is_success
        await a.wait_for("user_updated")
        renamed = await http.patch(
            f"/conversations/{cid}", headers=alice.headers, json={"name": "crew"}
        )
        assert renamed.is_success
        await b.wait_for("conversation_updated")

        # Someone joins, comes online, goes offline, leaves.
        added = await http.post(
            f"/conversations/{cid}/participants",
            headers=alice.headers,
            json={"userIds": [carol.id]},
        )
        assert added.is_success
        await a.wait_for("participant_added")
        c: Client = await connect(carol)
        await a.wait_for("user_online", lambda d: d["userId"] == carol.id)
        await c.close()
        await a.wait_for("user_offline", lambda d: d["userId"] == carol.id)
        left = await http.delete(
            f"/conversations/{cid}/participants/{carol.id}", headers=carol.headers
        )
        assert left.is_success
        await a.wait_for("participant_removed")
        # carol was told of the group by conversation_created; a new group tells bob now.
        await group(http, alice, bob, carol)
        await b.wait_for("conversation_created")

        # Failures without an ack: a send that fails, an unknown event.
        await a.emit(
            "send_message",
            {"conversationId": str(uuid.uuid4()), "content": "x", "optimisticId": "o1"},
        )
        await a.wait_for("message_error")
        await a.emit("no_such_event", {})
        await a.wait_for("exception")

        assert (await http.delete(one, headers=alice.headers)).is_success
        await b.wait_for("message_deleted")
        await a.barrier()
        await b.barrier()

        declared = server_events()
        seen: set[str] = set()
        for socket in (a, b, c):
            for name, payload in socket.events:
                assert name in declared, name
                check_payload(declared[name], payload)
                seen.add(name)
        assert seen == set(declared)
        # The acks of the requests match their documented shapes too.
        assert set(read) == {"ok", "unreadCount", "lastReadSeq"}

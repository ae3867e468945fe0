"""The conversation list, made from its rows without a model per conversation, last
message or participant (`hubbub.queries.presenters.conversation_json`,
`hubbub.queries.participant_rows`), says what the models say.

GET /conversations encodes its participants straight from the rows; GET
/conversations/:id builds a `ParticipantPublic` per participant. The same conversations,
in every state a participant shows (read markers, a muted one, one set to nothing, one
who left, a group over the list's cap of 50), must come out the same from both, and the
list must be a valid `ConversationList`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from hubbub.app import Node
from hubbub.domain.ids import utcnow
from hubbub.queries.views import LIST_PARTICIPANTS
from hubbub.wire.models import ConversationList
from tests.chat import create_group, create_private, insert_members, send
from tests.conftest import Account, RegisterFn


async def _settings(
    client: httpx.AsyncClient, who: Account, conversation_id: str, **body: Any
) -> None:
    r = await client.put(
        f"/conversations/{conversation_id}/settings", headers=who.headers, json=body
    )
    assert r.status_code == 200, r.text


async def test_the_list_shows_each_participant_as_the_conversation_does(
    client: httpx.AsyncClient, node: Node, register: RegisterFn
) -> None:
    ann, ben, cai = await register("ann"), await register("ben"), await register("cai")
    team = await create_group(client, ann, ben, cai, name="team")
    pair = await create_private(client, ann, ben)
    big = await create_group(client, ann, ben, name="big")
    await insert_members(node, big, LIST_PARTICIPANTS + 10)
    quiet = await create_group(client, ben, ann, cai, name="quiet")
    said = await send(client, ann, team, "hello")
    await send(client, ben, pair, "hi")
    await send(client, cai, quiet, "bye")
    read = await client.put(
        f"/conversations/{team}/messages/{said['id']}/read", headers=ben.headers
    )
    assert read.status_code == 200, read.text
    await _settings(client, ben, team, mutedUntil=(utcnow() + timedelta(hours=1)).isoformat())
    await _settings(client, cai, team, notificationLevel="nothing")
    await _settings(client, ann, pair, mutedUntil=(utcnow() - timedelta(hours=1)).isoformat())
    left = await client.delete(f"/conversations/{quiet}/participants/{cai.id}", headers=cai.headers)
    assert left.status_code == 200, left.text
    await _settings(client, ann, big, notificationLevel="mentions")
    made = await client.post("/spaces", headers=ann.headers, json={"name": "Acme"})
    assert made.status_code == 201, made.text
    space_id = made.json()["space"]["id"]
    general = await client.post(
        "/conversations",
        headers=ann.headers,
        json={"type": "SPACE", "name": "general", "spaceId": space_id},
    )
    assert general.status_code == 201, general.text
    in_space = general.json()["conversation"]["id"]

    listed = await client.get("/conversations?limit=100", headers=ann.headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    ConversationList.model_validate(body)
    by_id = {c["id"]: c for c in body["conversations"]}
    assert set(by_id) == {team, pair, big, quiet, in_space}
    assert by_id[in_space]["spaceId"] == space_id
    assert by_id[in_space]["lastMessage"] is None
    assert by_id[big]["notificationLevel"] == "mentions"
    assert by_id[pair]["mutedUntil"] is not None

    for conversation_id, conversation in by_id.items():
        one = await client.get(f"/conversations/{conversation_id}", headers=ann.headers)
        assert one.status_code == 200, one.text
        alone = one.json()["conversation"]
        expected = alone["participants"][:LIST_PARTICIPANTS]
        assert conversation["participants"] == expected, conversation_id
        assert {k: v for k, v in conversation.items() if k != "participants"} == {
            k: v for k, v in alone.items() if k != "participants"
        }
        # The list writes its conversations without the models: the same keys, in the
        # models' order, down to each participant's and the last message's.
        assert list(conversation) == list(alone)
        assert [list(p) for p in conversation["participants"]] == [list(p) for p in expected]
        if alone["lastMessage"] is not None:
            assert list(conversation["lastMessage"]) == list(alone["lastMessage"])

    team_flags = {p["userId"]: p["notificationsEnabled"] for p in by_id[team]["participants"]}
    assert team_flags == {str(ann.id): True, str(ben.id): False, str(cai.id): False}
    (ben_in_team,) = [p for p in by_id[team]["participants"] if p["userId"] == str(ben.id)]
    assert (ben_in_team["lastReadMessageId"], ben_in_team["lastReadSeq"]) == (said["id"], 1)
    assert ben_in_team["lastReadAt"] is not None
    assert ben_in_team["user"]["username"] == "ben"
    assert all(p["notificationsEnabled"] for p in by_id[pair]["participants"])
    assert [p["userId"] for p in by_id[quiet]["participants"]] == [str(ben.id), str(ann.id)]
    assert (len(by_id[big]["participants"]), by_id[big]["participantCount"]) == (
        LIST_PARTICIPANTS,
        LIST_PARTICIPANTS + 12,
    )


async def test_an_empty_list_is_a_valid_page(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann = await register("ann")
    listed = await client.get("/conversations", headers=ann.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"conversations": [], "total": 0, "nextCursor": None}

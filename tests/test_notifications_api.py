"""Notification rules over HTTP: a user's defaults at /users/me/notifications, and one
conversation's own level and mute through its settings (the seed protocol's single
`notificationsEnabled` flag kept, read from the level)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.chat import create_group
from tests.conftest import RegisterFn, assert_error

DEFAULTS = {
    "private": "all",
    "group": "mentions",
    "space": "mentions",
    "pausedUntil": None,
    "quietHoursStart": None,
    "quietHoursEnd": None,
    "timezone": "UTC",
    "digests": True,
}


async def test_defaults_then_changes_that_are_the_users_own(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    r = await client.get("/users/me/notifications", headers=ann.headers)
    assert (r.status_code, r.json()) == (200, DEFAULTS)
    pause = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    r = await client.patch(
        "/users/me/notifications",
        headers=ann.headers,
        json={
            "group": "all",
            "quietHoursStart": "22:00",
            "quietHoursEnd": "07:30",
            "timezone": "Europe/Paris",
            "pausedUntil": pause.isoformat(),
            "digests": False,
        },
    )
    assert r.status_code == 200, r.text
    changed = {
        **DEFAULTS,
        "group": "all",
        "quietHoursStart": "22:00",
        "quietHoursEnd": "07:30",
        "timezone": "Europe/Paris",
        "digests": False,
    }
    body = r.json()
    assert datetime.fromisoformat(body.pop("pausedUntil")) == pause
    assert body == {k: v for k, v in changed.items() if k != "pausedUntil"}
    # Only the fields given change: ending the pause and the quiet hours keeps the rest.
    r = await client.patch(
        "/users/me/notifications",
        headers=ann.headers,
        json={"pausedUntil": None, "quietHoursStart": None, "quietHoursEnd": None},
    )
    assert r.json() == {**changed, "quietHoursStart": None, "quietHoursEnd": None}
    assert (await client.get("/users/me/notifications", headers=ann.headers)).json() == r.json()
    # A level or the time zone given as null goes back to its default; one end of the
    # quiet hours may be set alone (they apply only once both are).
    r = await client.patch(
        "/users/me/notifications",
        headers=ann.headers,
        json={"group": None, "timezone": None, "digests": None, "quietHoursStart": "23:00"},
    )
    assert r.json() == {**DEFAULTS, "quietHoursStart": "23:00"}
    # Another user's defaults are untouched.
    assert (await client.get("/users/me/notifications", headers=ben.headers)).json() == DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"group": "loud"}, "group"),  # not one of the values: 400, invalid_enum
        ({"digests": "no"}, "digests"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"quietHoursStart": "24:00", "quietHoursEnd": "07:00"}, "quietHoursStart"),
        ({"pausedUntil": "2030-01-01T10:00:00"}, "pausedUntil"),
        ({"sound": "chime"}, "sound"),
    ],
)
async def test_bad_preferences_are_refused_and_change_nothing(
    client: httpx.AsyncClient, register: RegisterFn, body: dict[str, Any], field: str
) -> None:
    ann = await register("ann")
    r = await client.patch("/users/me/notifications", headers=ann.headers, json=body)
    error = assert_error(r, 400 if body == {"group": "loud"} else 422)
    assert field in error["message"], error
    assert (await client.get("/users/me/notifications", headers=ann.headers)).json() == DEFAULTS


async def test_preferences_need_a_login(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/users/me/notifications"), 401)
    assert_error(await client.patch("/users/me/notifications", json={"group": "all"}), 401)


async def test_a_conversations_level_and_mute(
    client: httpx.AsyncClient, register: RegisterFn
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    path = f"/conversations/{cid}/settings"

    async def settings(body: dict[str, Any]) -> dict[str, Any]:
        r = await client.put(path, headers=ben.headers, json=body)
        assert r.status_code == 200, r.text
        conv: dict[str, Any] = r.json()["conversation"]
        return conv

    def shown(conv: dict[str, Any]) -> tuple[Any, Any, Any]:
        return conv["notificationLevel"], conv["notificationsEnabled"], conv["mutedUntil"]

    fresh = (await client.get(f"/conversations/{cid}", headers=ben.headers)).json()
    assert shown(fresh["conversation"]) == (None, True, None)
    assert shown(await settings({"notificationLevel": "all"})) == ("all", True, None)
    assert shown(await settings({"notificationLevel": None})) == (None, True, None)
    # The seed protocol's flag: off is "nothing", on is back to the defaults.
    assert shown(await settings({"notificationsEnabled": False})) == ("nothing", False, None)
    assert shown(await settings({"notificationsEnabled": True})) == (None, True, None)
    # Given both, the level decides.
    both = {"notificationLevel": "mentions", "notificationsEnabled": False}
    assert shown(await settings(both)) == ("mentions", True, None)
    assert shown(await settings({"notificationLevel": None})) == (None, True, None)
    until = (datetime.now(UTC) + timedelta(hours=8)).replace(microsecond=0)
    level, on, muted = shown(await settings({"mutedUntil": until.isoformat()}))
    assert (level, on, datetime.fromisoformat(muted)) == (None, False, until)
    # A mute that has already ended silences nothing.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert shown(await settings({"mutedUntil": past}))[1] is True
    assert shown(await settings({"mutedUntil": None})) == (None, True, None)
    # ann's view of the same conversation is her own.
    await settings({"notificationLevel": "nothing"})
    mine = (await client.get(f"/conversations/{cid}", headers=ann.headers)).json()
    assert shown(mine["conversation"]) == (None, True, None)
    listed = (await client.get("/conversations", headers=ben.headers)).json()["conversations"]
    assert [shown(c) for c in listed] == [("nothing", False, None)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notificationLevel": "loud"}, "notificationLevel"),
        ({"mutedUntil": "tomorrow"}, "mutedUntil"),
        ({"mutedUntil": "2030-01-01T10:00:00"}, "mutedUntil"),
    ],
)
async def test_bad_conversation_settings_change_nothing(
    client: httpx.AsyncClient, register: RegisterFn, body: dict[str, Any], field: str
) -> None:
    ann, ben = await register("ann"), await register("ben")
    cid = await create_group(client, ann, ben)
    r = await client.put(f"/conversations/{cid}/settings", headers=ben.headers, json=body)
    error = assert_error(r, 400 if body == {"notificationLevel": "loud"} else 422)
    assert field in error["message"], error
    conv = (await client.get(f"/conversations/{cid}", headers=ben.headers)).json()["conversation"]
    assert (conv["notificationLevel"], conv["mutedUntil"]) == (None, None)

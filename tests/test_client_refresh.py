"""Token refresh against a real server whose access tokens live 10 seconds (the
shortest the settings allow): ahead of expiry while connected, without losing the live
connection or its events; and once on a 401 for a client that does not refresh ahead."""

from __future__ import annotations

import asyncio

from hubbub.client import NewMessage
from tests.gw import Server
from tests.sdk import ACCESS_TOKEN_TTL_S, signed_up

TTL_S = ACCESS_TOKEN_TTL_S


async def test_tokens_are_refreshed_while_connected_and_on_a_401(sdk_server: Server) -> None:
    live = await signed_up(sdk_server.base)
    # Refreshes only when the server refuses its token: after it expires, on a 401.
    lazy = await signed_up(sdk_server.base, auto_refresh=False)
    try:
        group = await lazy.create_group("refresh", [live.user.id])
        stream = live.events()
        await live.connect()
        sent = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TTL_S + 1.5
        while loop.time() < deadline:
            sent.append(await lazy.send(group.id, f"tick {len(sent)}"))  # over HTTP
            await asyncio.sleep(0.5)
        assert live.refreshes >= 1  # ahead of expiry, by itself
        assert lazy.refreshes == 1  # once, on the first 401 after its token expired

        heard = [await stream.next(NewMessage) for _ in sent]
        assert [e.message.id for e in heard] == [m.id for m in sent]
        # The live connection carried on across the refresh: never lost, never redone.
        assert (live.stats.connects, live.stats.disconnects) == (1, 0)
        assert live.connected
        # And the new tokens work, over HTTP and for the socket's own sends.
        assert (await live.me()).id == live.user.id
        answer = await live.send(group.id, "still here")
        assert answer.content == "still here"
    finally:
        await live.close()
        await lazy.close()

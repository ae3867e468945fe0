"""The socket layer against a hostile client: a raw WebSocket speaking Engine.IO by hand
to a real `hubbub serve` (README, Security: Sockets).

One namespace, JSON text only: a CONNECT to another namespace is refused, a binary
packet (or frame) closes the session, as does a malformed packet, with one line in the
log and no traceback; a session that does not connect to /messaging in time, or sends
too much before it does, is closed; no token reaches the log.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from hubbub.edge.socket.gateway import PACKETS_BEFORE_CONNECT
from hubbub.wire.json_depth import MAX_JSON_DEPTH
from tests.conftest import Backend
from tests.gw import Server, register, serving
from tests.raw import NS, RawSocket

CONNECT_TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
async def server(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    settings = {
        "HUBBUB_SOCKET_CONNECT_TIMEOUT_S": str(CONNECT_TIMEOUT_S),
        # The gateway's one-liners are logged at info, request lines (a WebSocket's
        # opening too) with the access log.
        "HUBBUB_LOG_LEVEL": "info",
        "HUBBUB_ACCESS_LOG": "true",
    }
    async with serving(backend, tmp_path_factory.mktemp("socket-guard"), settings) as srv:
        yield srv


@pytest.fixture(scope="module")
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as h:
        yield h


def connected(answer: str | bytes) -> bool:
    return isinstance(answer, str) and answer.startswith(f"40{NS},") and '"sid"' in answer


async def test_only_the_messaging_namespace_connects(server: Server) -> None:
    for namespace in ("/", "/admin"):
        raw = await RawSocket.open(server.base)
        try:
            answer = await raw.connect(None, namespace)
            prefix = "44" if namespace == "/" else f"44{namespace},"
            assert isinstance(answer, str), answer
            assert answer.startswith(prefix), (namespace, answer)
        finally:
            await raw.close()


async def test_a_binary_packet_closes_the_socket(server: Server, http: httpx.AsyncClient) -> None:
    user = await register(http)
    # On /messaging, authenticated: a BINARY_EVENT header, then attachments it announced.
    raw = await RawSocket.open(server.base)
    assert connected(await raw.connect(user.token))
    await raw.frame(f'451-{NS},["send_message",{{"_placeholder":true,"num":0}}]')
    assert await raw.closed(), "a binary event was accepted"
    # A BINARY_ACK, and an Engine.IO binary frame, likewise.
    for frame in (f'461-{NS},1[{{"_placeholder":true,"num":0}}]', b"\x04" + b"\x00" * 64):
        raw = await RawSocket.open(server.base)
        assert connected(await raw.connect(user.token))
        await raw.frame(frame)
        assert await raw.closed(), f"{frame!r} was accepted"
    # Unauthenticated, on the default namespace: the attack of an attachment count.
    raw = await RawSocket.open(server.base)
    await raw.connect(None, "/")
    await raw.frame('4999999999-["x",{"_placeholder":true,"num":0}]')
    assert await raw.closed(), "a binary event was accepted on the default namespace"
    # The user's other sockets are not affected.
    fine = await RawSocket.open(server.base)
    try:
        assert connected(await fine.connect(user.token))
        assert (await fine.call("sync", {"conversations": {}}))["ok"] is True
    finally:
        await fine.close()


async def test_packets_before_connecting_are_bounded(server: Server) -> None:
    raw = await RawSocket.open(server.base)
    for _ in range(PACKETS_BEFORE_CONNECT + 1):
        await raw.frame(f'42{NS},["sync",{{"conversations":{{}}}}]')
    assert await raw.closed(), "a session sent packets without end before connecting"


async def test_a_session_that_does_not_connect_in_time_is_closed(
    server: Server, http: httpx.AsyncClient
) -> None:
    idle = await RawSocket.open(server.base)
    assert await idle.closed(within=CONNECT_TIMEOUT_S + 10), "an idle session was kept"
    # A refused handshake leaves the session unconnected: closed as well.
    refused = await RawSocket.open(server.base)
    answer = await refused.connect("not-a-token")
    assert isinstance(answer, str), answer
    assert answer.startswith(f"44{NS},"), answer
    assert json.loads(answer[len(f"44{NS},") :]) == {"message": "unauthorized"}
    assert await refused.closed(within=CONNECT_TIMEOUT_S + 10)
    # A connected session stays past the timeout.
    user = await register(http)
    kept = await RawSocket.open(server.base)
    try:
        assert connected(await kept.connect(user.token))
        assert not await kept.closed(within=CONNECT_TIMEOUT_S * 2)
        assert (await kept.call("sync", {"conversations": {}}))["ok"] is True
    finally:
        await kept.close()


MALFORMED = [
    "42[",  # JSON cut short: three bytes
    "4x",  # no Socket.IO packet type
    "x",  # no Engine.IO packet type
    "",  # nothing
    f"42{NS},[]",  # an event without a name
    f"42{NS},[1]",
    f'42{NS},{{"a":1}}',
    f'42{NS},["connect"]',  # a reserved name
    "4{}",  # JSON where a packet belongs
    f"42{NS},99999999999999999999999999999999999999",  # an id too long
    f'43{NS},1["ack"]',  # an ack nobody asked for
    # Nested deeper than the parser is let go (hubbub.wire.json_depth): as deep as a packet
    # within the 64 KiB cap can, and one level over.
    f'42{NS},["sync",' + "[" * 30_000 + "]" * 30_000 + "]",
    f'42{NS},["sync",' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "]",
    # Engine.IO parses a text packet that does not start with a digit as JSON: deep too.
    "4" + "[" * 30_000 + "]" * 30_000,
]


async def test_malformed_packets_log_one_line_each_and_no_traceback(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await register(http)
    start = server.log.stat().st_size
    for frame in MALFORMED:
        raw = await RawSocket.open(server.base)
        assert connected(await raw.connect(user.token))
        await raw.frame(frame)
        assert await raw.closed(), f"{frame!r} did not close the socket"
    # Long-polling: a malformed payload.
    r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    sid = json.loads(r.text[1:])["sid"]
    r = await http.post(
        "/socket.io/", params={"EIO": "4", "transport": "polling", "sid": sid}, content=b"x"
    )
    written = server.log.read_bytes()[start:].decode(errors="replace")
    assert "Traceback" not in written, written[-3000:]
    assert "Recursion" not in written, written[-3000:]
    assert all(len(line) < 400 for line in written.splitlines()), written[-3000:]
    closing = [line for line in written.splitlines() if "closing socket" in line]
    assert len(closing) == len(MALFORMED), "\n".join(closing)
    assert "post request handler error" in written


async def test_a_payload_as_deep_as_allowed_is_answered(
    server: Server, http: httpx.AsyncClient
) -> None:
    """At the depth limit a packet is parsed and its payload validated like any other:
    a wrong one is refused in its ack, and the socket stays."""
    user = await register(http)
    raw = await RawSocket.open(server.base)
    try:
        assert connected(await raw.connect(user.token))
        inner = MAX_JSON_DEPTH - 2  # the packet's array and the payload's object
        nested = json.loads("[" * inner + "]" * inner)
        answer = await raw.call("sync", {"conversations": nested})
        assert answer["ok"] is False, answer
        assert answer["error"]["code"] == "invalid_payload", answer
        assert (await raw.call("sync", {"conversations": {}}))["ok"] is True
    finally:
        await raw.close()


async def test_a_refused_polling_post_is_answered_at_once(
    server: Server, http: httpx.AsyncClient
) -> None:
    """A long-polling POST over the size cap is refused with 400 at once and its session
    closed, without waiting for a GET the client need never send; one nested too deeply
    closes its session as a malformed packet. No token is needed to try either."""

    async def polling_session() -> str:
        r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        sid: str = json.loads(r.text[1:])["sid"]
        return sid

    for body, status in (
        ("4" + "x" * (64 * 1024 + 1), 400),
        ("4" + "[" * 30_000 + "]" * 30_000, 200),  # taken, then closed as malformed
    ):
        sid = await polling_session()
        query = {"EIO": "4", "transport": "polling", "sid": sid}
        r = await http.post("/socket.io/", params=query, content=body.encode(), timeout=5)
        assert r.status_code == status, r.text
        gone = await http.get("/socket.io/", params=query, timeout=5)
        assert gone.status_code == 400, gone.text  # the session is closed
    written = server.log.read_text(errors="replace")
    assert "Recursion" not in written, written[-3000:]


async def test_no_token_reaches_the_log(server: Server, http: httpx.AsyncClient) -> None:
    user = await register(http)
    start = server.log.stat().st_size
    secret_values = {"token": user.token, "access_token": "secret-a", "refreshToken": "secret-r"}
    query = "".join(f"&{name}={value}" for name, value in secret_values.items())
    raw = await RawSocket.open(server.base, query)
    try:
        assert connected(await raw.connect(user.token))
    finally:
        await raw.close()
    r = await http.get(
        "/socket.io/", params={"EIO": "4", "transport": "polling", "token": user.token}
    )
    assert r.status_code == 200
    written = server.log.read_bytes()[start:].decode(errors="replace")
    assert "token=[redacted]" in written, written[-2000:]  # the request lines were written
    for value in secret_values.values():
        assert value not in written, written[-2000:]


async def test_only_the_socketio_path_takes_websockets(server: Server) -> None:
    """A WebSocket goes to Engine.IO only under /socket.io/ (with or without its slash);
    anywhere else it is refused before it opens, as the HTTP app has no WebSocket."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    ws_base = server.base.replace("http://", "ws://")
    for path in ("/socket.io/", "/socket.io"):
        async with connect(f"{ws_base}{path}?EIO=4&transport=websocket") as ws:
            assert str(await ws.recv()).startswith("0{")
    for path in ("/socket.iox/", "/messaging/", "/"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{ws_base}{path}?EIO=4&transport=websocket"):
                pass
        assert refused.value.response.status_code == 403, path

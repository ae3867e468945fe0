"""The `bare` baseline: python-socketio broadcasting with no database at all.

The framework's ceiling for hubbub's stack (uvicorn + python-socketio, websockets
transport, permessage-deflate off, the same options `hubbub serve` uses): what the
fan-out path costs when nothing is checked and nothing is stored. It speaks just
enough of hubbub's HTTP API and gateway for the benchmark generator to drive it:

- POST /auth/register, /auth/login: a user in memory; the token is a random string
- POST /conversations {type: GROUP, name, participantIds}: a room in memory
- GET /healthz
- namespace /messaging: handshake with auth {token}, auto-join of the user's rooms,
  `connection_success`; `send_message` -> `message_sent` to the sender (and the ack)
  and `new_message` to the room; `sync` answers with no changes (nothing is kept).

Run: python bench/baselines/bare/server.py --port 8100
"""

from __future__ import annotations

import argparse
import secrets
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import socketio
import uvicorn

NS = "/messaging"

users: dict[str, dict[str, Any]] = {}  # id -> user
by_name: dict[str, str] = {}  # username/email -> id
tokens: dict[str, str] = {}  # token -> user id
members: dict[str, set[str]] = {}  # conversation id -> user ids
user_convs: defaultdict[str, set[str]] = defaultdict(set)
seqs: defaultdict[str, int] = defaultdict(int)

sio = socketio.AsyncServer(
    async_mode="asgi", cors_allowed_origins="*", logger=False, engineio_logger=False
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def send_json(send: Any, status: int, body: Any) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def session(token: str) -> dict[str, Any]:
    user = users[tokens[token]]
    return {"user": user, "token": token, "refreshToken": secrets.token_urlsafe(16)}


async def http_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    method, path = scope["method"], scope["path"]
    data = orjson.loads(body) if body else {}
    auth = dict(scope["headers"]).get(b"authorization", b"").decode()
    caller = tokens.get(auth.removeprefix("Bearer "))
    if path == "/healthz":
        await send_json(send, 200, {"status": "ok"})
    elif method == "POST" and path == "/auth/register":
        user_id = str(uuid.uuid4())
        users[user_id] = {"id": user_id, "username": data["username"], "email": data["email"]}
        by_name[data["username"]] = by_name[data["email"]] = user_id
        token = secrets.token_urlsafe(24)
        tokens[token] = user_id
        await send_json(send, 201, session(token))
    elif method == "POST" and path == "/auth/login":
        user_id = by_name.get(data.get("email", ""))
        if user_id is None:
            await send_json(send, 401, {"statusCode": 401, "message": "Invalid credentials"})
            return
        token = secrets.token_urlsafe(24)
        tokens[token] = user_id
        await send_json(send, 200, session(token))
    elif method == "POST" and path == "/conversations" and caller:
        conversation_id = str(uuid.uuid4())
        people = {caller, *data.get("participantIds", [])}
        members[conversation_id] = people
        for person in people:
            user_convs[person].add(conversation_id)
        await send_json(
            send,
            201,
            {
                "conversation": {
                    "id": conversation_id,
                    "type": data.get("type"),
                    "name": data.get("name"),
                    "participantCount": len(people),
                }
            },
        )
    else:
        await send_json(send, 404, {"statusCode": 404, "message": "Not Found"})


@sio.on("connect", namespace=NS)
async def on_connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
    token = auth.get("token") if isinstance(auth, dict) else None
    user_id = tokens.get(token or "")
    if user_id is None:
        raise socketio.exceptions.ConnectionRefusedError("unauthorized")
    await sio.save_session(sid, {"userId": user_id}, namespace=NS)
    for conversation_id in user_convs[user_id]:
        await sio.enter_room(sid, conversation_id, namespace=NS)
    await sio.emit(
        "connection_success",
        {"userId": user_id, "socketId": sid, "connectionTime": 0, "serverTime": now_iso()},
        to=sid,
        namespace=NS,
    )
    return True


@sio.on("send_message", namespace=NS)
async def on_send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    user_id = (await sio.get_session(sid, namespace=NS))["userId"]
    conversation_id = data["conversationId"]
    if user_id not in members.get(conversation_id, ()):
        return {"ok": False, "error": {"code": "conversation_not_found", "message": "not found"}}
    seqs[conversation_id] += 1
    stamp = now_iso()
    message = {
        "id": str(uuid.uuid4()),
        "conversationId": conversation_id,
        "senderId": user_id,
        "type": data.get("type", "TEXT"),
        "content": data["content"],
        "status": "SENT",
        "seq": seqs[conversation_id],
        "optimisticId": data.get("optimisticId"),
        "createdAt": stamp,
        "serverTimestamp": stamp,
    }
    sent = {"optimisticId": data.get("optimisticId"), "message": message, "success": True}
    await sio.emit("message_sent", sent, to=sid, namespace=NS)
    await sio.emit(
        "new_message",
        {"message": message, "conversationId": conversation_id},
        room=conversation_id,
        skip_sid=sid,
        namespace=NS,
    )
    return {"ok": True, "message": message}


@sio.on("sync", namespace=NS)
async def on_sync(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    asked = data.get("conversations", {}) if isinstance(data, dict) else {}
    return {
        "ok": True,
        "conversations": {
            cid: {"changes": [], "lastSeq": seqs[cid], "hasMore": False} for cid in asked
        },
        "removed": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument(
        "--no-pings",
        action="store_true",
        help="Engine.IO pings an hour apart and none at the WebSocket level, as "
        "bench/handshake_cpu.py sets hubbub's, so that idle sockets cost nothing",
    )
    args = parser.parse_args()
    if args.no_pings:
        sio.eio.ping_interval = sio.eio.ping_timeout = 3600
    app = socketio.ASGIApp(sio, other_asgi_app=http_app, socketio_path="socket.io")
    started = time.monotonic()
    print(f"bare baseline on http://{args.host}:{args.port} ({started:.0f})", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        loop="auto",
        http="auto",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="on",
        access_log=False,
        ws_ping_interval=None if args.no_pings else 20.0,
    )


if __name__ == "__main__":
    main()

"""The Socket.IO edge: namespace /messaging.

Thin like the HTTP routes: each handler validates its payload with a typed model, makes one
service call, and answers with an ack (`{ok: true, …}` / `{ok: false, error}`) or, when the
client asked for none, an `exception` event. Events a change causes reach sockets through
the bus and the hub (`hubbub.realtime.hub`), never from here directly, except the answers to
the sender itself (`message_sent`, `message_error`). Presence (`presence.py`) and typing
(`typing_timers.py`) keep their own timers; everything that reaches into python-socketio and
python-engineio is in `engine.py`, `gateway.py` and `transport.py`. python-socketio runs
each incoming event in its own task, so two sends of one client may be handled in any order:
message order comes from `seq`, never from arrival.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from hubbub import logs
from hubbub.config import Budget
from hubbub.domain.errors import HubbubError, RateLimited, Unavailable, ValidationFailed
from hubbub.domain.token_rules import scope_for_socket_event, scope_refusal
from hubbub.edge.services import Services
from hubbub.edge.socket.handshake import authenticate_handshake
from hubbub.edge.socket.packets import event_wants_ack
from hubbub.edge.socket.presence import PresenceLifecycle, PresenceTimings, TooManySockets
from hubbub.edge.socket.session_sweep import SessionSweep
from hubbub.edge.socket.tasks import BackgroundTasks
from hubbub.edge.socket.typing_timers import TypingTimers
from hubbub.edge.socket.welcome import Welcomes
from hubbub.realtime.hub import NAMESPACE, Hub
from hubbub.realtime.limits import RateLimiter
from hubbub.realtime.sockets import SocketState
from hubbub.wire.fields import iso_utc
from hubbub.wire.socket import (
    ConversationRef,
    MessageRef,
    PresenceQuery,
    SendMessageEvent,
    SyncRequest,
)
from hubbub.wire.webhooks import CommandAccepted

log = logging.getLogger("hubbub.edge.socket")


@dataclass(frozen=True)
class GatewayConfig:
    """The namespace's settings (`hubbub.config.Settings`, picked by the composition root)."""

    allowed_origins: frozenset[str]
    event_rate_per_s: float
    event_burst: int
    typing_ttl_s: float
    presence_grace_s: float
    presence_refresh_s: float
    session_sweep_s: float
    max_sockets_per_user: int


Handler = Callable[[SocketState, Any], Awaitable[dict[str, Any]]]


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, **extra}}


class MessagingNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(
        self,
        services: Services,
        hub: Hub,
        *,
        event_limiter: RateLimiter,
        config: GatewayConfig,
    ) -> None:
        super().__init__(NAMESPACE)
        self.services = services
        self.hub = hub
        self.metrics = services.metrics
        self.config = config
        self._event_limiter = event_limiter
        self._tasks = BackgroundTasks()
        self.typing = TypingTimers(
            hub, services.typing, services.bus, self._tasks, ttl_s=config.typing_ttl_s
        )
        self.presence = PresenceLifecycle(
            hub,
            presence=services.presence,
            bus=services.bus,
            metrics=services.metrics,
            tasks=self._tasks,
            typing=self.typing,
            mark_seen=services.users.mark_seen,
            timings=PresenceTimings(
                grace_s=config.presence_grace_s, refresh_s=config.presence_refresh_s
            ),
            max_sockets_per_user=config.max_sockets_per_user,
        )
        self.welcomes = Welcomes(hub, services.bus.publish, self._tasks)
        self.sessions = SessionSweep(
            hub, services.session_queries.ended, period_s=config.session_sweep_s
        )
        self._handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            "send_message": (SendMessageEvent, self._send_message),
            "join_conversation": (ConversationRef, self._join),
            "leave_conversation": (ConversationRef, self._leave),
            "typing": (ConversationRef, self._typing),
            "stop_typing": (ConversationRef, self._stop_typing),
            "mark_as_read": (MessageRef, self._mark_read),
            "mark_as_delivered": (MessageRef, self._mark_delivered),
            "sync": (SyncRequest, self._sync),
            "get_presence": (PresenceQuery, self._get_presence),
        }

    # Connection ------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        started = time.perf_counter()
        # A storm waits here while the users who came online are being announced.
        await self.welcomes.room()
        auth_started = time.monotonic()
        principal = await authenticate_handshake(
            self.services.auth, self.config.allowed_origins, environ, auth
        )
        state = SocketState(
            sid=sid,
            eio_sid=self.server.manager.eio_sid_from_sid(sid, NAMESPACE),
            user_id=principal.user_id,
            username=principal.username,
            session_id=principal.session_id,
            auth_started=auth_started,
            scopes=principal.scopes,
        )
        # Indexed before the membership query: a conversation made meanwhile reaches this
        # socket through its `conversation_created` event, and a removal meanwhile makes
        # the hub read again.
        if not self.hub.add(state):  # logged out or deactivated while authenticating
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        try:
            await self.hub.admit(
                [state],
                partial(self.services.conversation_queries.conversation_ids_of, state.user_id),
            )
        except Exception:
            self.hub.remove(sid)
            log.warning("refused socket: its conversations could not be read", exc_info=True)
            raise socketio.exceptions.ConnectionRefusedError("unavailable") from None
        try:
            first = await self.presence.connected(state)
        except TooManySockets as exc:
            self.hub.remove(sid)
            error = {"code": "too_many_sockets", "message": str(exc), "limit": exc.limit}
            raise socketio.exceptions.ConnectionRefusedError("too_many_sockets", error) from None
        self.metrics.sockets.set(len(self.hub.sockets))
        took = time.perf_counter() - started
        self.metrics.handshake_seconds.observe(took)
        # The CONNECT packet goes out when this handler returns; what follows is queued
        # behind it on the same socket.
        self.welcomes.add(state, took, first=first)

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        # The socket's event budget goes with it (a socket id is never seen again).
        await self._event_limiter.clear(sid)
        state = self.hub.remove(sid)
        if state is None:
            return
        self.metrics.sockets.set(len(self.hub.sockets))
        await self.presence.disconnected(state)

    # Dispatch --------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        payload = args[1] if len(args) > 1 else None
        state = self.hub.sockets.get(sid)
        wants_ack = event_wants_ack()
        if state is None:
            return _error("unauthorized", "Not connected") if wants_ack else None
        known = event if event in self._handlers else "unknown"
        self.metrics.events_in.labels(known).inc()
        logs.user_id.set(str(state.user_id))  # this event's task alone (its log lines)
        with self.services.tracing.span(f"socket.io {known}"):
            result = await self._dispatch(state, event, payload)
        if not result.get("ok"):
            err = result["error"]
            self.metrics.errors.labels(err["code"]).inc()
            if not wants_ack and event != "send_message":
                await self.hub.emit_to(
                    sid,
                    "exception",
                    {"event": event, **err},  # code, message (and retryAfter)
                )
        return result if wants_ack else None

    async def _dispatch(self, state: SocketState, event: str, payload: Any) -> dict[str, Any]:
        entry = self._handlers.get(event)
        if entry is None:
            return _error("unknown_event", f"Unknown event {event[:64]!r}")
        wait = await self._event_limiter.take_token(
            state.sid, self.config.event_rate_per_s, self.config.event_burst
        )
        if wait > 0:
            limited = RateLimited(wait, "Too many events")
            if event == "send_message":  # a send is always answered, ack or not
                await self._message_error(state, payload, limited.code, limited.message, limited)
            return _error(limited.code, limited.message, **limited.extra)
        if refused := scope_refusal(state.scopes, scope_for_socket_event(event)):
            if event == "send_message":  # an API token without the send scope
                await self._message_error(state, payload, refused.code, refused.message)
            return _error(refused.code, refused.message)
        model, handler = entry
        try:
            parsed = model.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or "payload"
            if event == "send_message":
                await self._message_error(
                    state, payload, "invalid_payload", f"{field}: {first['msg']}"
                )
            return _error("invalid_payload", f"{field}: {first['msg']}")
        try:
            return await handler(state, parsed)
        except HubbubError as exc:
            return _error(exc.code, exc.message, **exc.extra)
        except (DBAPIError, PoolTimeoutError, RedisError, ConnectionError, TimeoutError):
            log.warning("backend unavailable during %s", event, exc_info=True)
            return _error("unavailable", Unavailable.message)
        except Exception:
            log.exception("gateway handler %s failed", event)
            return _error("internal_error", "Internal server error")

    # Handlers --------------------------------------------------------------------------

    async def _send_message(self, state: SocketState, req: SendMessageEvent) -> dict[str, Any]:
        try:
            # A SendMessageEvent is a SendMessage: the very same operation as over HTTP.
            outcome = await self.services.commands.post(
                state.user_id, req.conversation_id, req, origin_socket=state.sid
            )
        except HubbubError as exc:
            if isinstance(exc, ValidationFailed):  # docs/socket-protocol.md: invalid_message
                exc = ValidationFailed(exc.message, code="invalid_message")
            await self._message_error(
                state, {"optimisticId": req.optimistic_id}, exc.code, exc.message, exc
            )
            raise exc from None
        except (DBAPIError, PoolTimeoutError, RedisError, ConnectionError, TimeoutError):
            await self._message_error(
                state, {"optimisticId": req.optimistic_id}, "unavailable", Unavailable.message
            )
            raise
        if isinstance(outcome, CommandAccepted):  # a slash command: nothing was posted
            return {"ok": True, "command": outcome.wire()}
        message = outcome.message.wire()
        await self.hub.emit_to(
            state.sid,
            "message_sent",
            {"optimisticId": req.optimistic_id, "message": message, "success": True},
        )
        if state.is_typing(req.conversation_id):
            await self.typing.stop(req.conversation_id, state.user_id)
        return {"ok": True, "message": message}

    async def _message_error(
        self,
        state: SocketState,
        payload: Any,
        code: str,
        message: str,
        exc: HubbubError | None = None,
    ) -> None:
        optimistic = payload.get("optimisticId") if isinstance(payload, dict) else None
        error: dict[str, Any] = {"code": code, "message": message}
        if isinstance(exc, RateLimited):
            error["retryAfter"] = exc.retry_after
        await self.hub.emit_to(
            state.sid,
            "message_error",
            {
                "optimisticId": optimistic if isinstance(optimistic, str) else None,
                "success": False,
                "error": error,
            },
        )

    async def _join(self, state: SocketState, req: ConversationRef) -> dict[str, Any]:
        await self.hub.admit([state], partial(self._membership, state, req.conversation_id))
        return {"ok": True, "conversationId": str(req.conversation_id)}

    async def _membership(self, state: SocketState, conversation_id: uuid.UUID) -> list[uuid.UUID]:
        """The conversation, if the socket's user is in it (NotFound otherwise)."""
        await self.services.conversation_queries.require_member(state.user_id, conversation_id)
        return [conversation_id]

    async def _leave(self, state: SocketState, req: ConversationRef) -> dict[str, Any]:
        self.hub.unlisten(state, req.conversation_id)
        return {"ok": True}

    async def _member(self, state: SocketState, conversation_id: uuid.UUID) -> None:
        # Membership comes from the hub's index, kept current by membership events; a
        # miss is checked against the database (and fails as not found).
        if not self.hub.is_member(state, conversation_id):
            read = partial(self._membership, state, conversation_id)
            await self.hub.admit([state], read, listen=False)

    async def _typing(self, state: SocketState, req: ConversationRef) -> dict[str, Any]:
        if not state.is_typing(req.conversation_id):  # a toggle fans out; a refresh not
            await self.services.budgets.take(Budget.TYPING, state.user_id)
        await self._member(state, req.conversation_id)
        await self.typing.start(state, req.conversation_id)
        return {"ok": True}

    async def _stop_typing(self, state: SocketState, req: ConversationRef) -> dict[str, Any]:
        if state.is_typing(req.conversation_id):
            await self.services.budgets.take(Budget.TYPING, state.user_id)
        await self._member(state, req.conversation_id)
        await self.typing.stop(req.conversation_id, state.user_id)
        return {"ok": True}

    async def _mark_read(self, state: SocketState, req: MessageRef) -> dict[str, Any]:
        outcome = await self.services.markers.mark_read(
            state.user_id, req.conversation_id, req.message_id
        )
        return {
            "ok": True,
            "unreadCount": outcome.unread_count,
            "lastReadSeq": outcome.last_read_seq,
        }

    async def _mark_delivered(self, state: SocketState, req: MessageRef) -> dict[str, Any]:
        await self.services.markers.mark_delivered(
            state.user_id, req.conversation_id, req.message_id
        )
        return {"ok": True}

    async def _sync(self, state: SocketState, req: SyncRequest) -> dict[str, Any]:
        pages, removed = await self.services.message_queries.sync(
            state.user_id, req.conversations, limit=req.limit
        )
        for cid in removed:
            self.hub.forget_membership(state.user_id, cid)
        return {
            "ok": True,
            "conversations": {str(cid): page.wire() for cid, page in pages.items()},
            "removed": [str(cid) for cid in removed],
        }

    async def _get_presence(self, state: SocketState, req: PresenceQuery) -> dict[str, Any]:
        found = await self.services.user_queries.presence(state.user_id, req.user_ids)
        return {
            "ok": True,
            "presence": {
                str(uid): {"isOnline": online, "lastSeen": iso_utc(seen) if seen else None}
                for uid, (online, seen) in found.items()
            },
        }

    async def refresh_presence_forever(self) -> None:  # upkeep, from here on
        await self.presence.refresh_forever()

    async def sweep_sessions_forever(self) -> None:
        await self.sessions.run_forever()

    def table_sizes(self) -> dict[str, Callable[[], float]]:
        """How to count its per-socket tables (for the metrics)."""
        return {
            "hub_sockets": lambda: len(self.hub.sockets),
            "hub_removal_marks": lambda: self.hub.removal_marks,
            "gateway_tasks": lambda: len(self._tasks),
            "typing_timers": lambda: len(self.typing),
            "offline_timers": lambda: len(self.presence),
            "welcomes_waiting": lambda: len(self.welcomes),
        }

    async def close(self) -> None:
        self.typing.close()
        self.presence.close()
        self._tasks.cancel_all()

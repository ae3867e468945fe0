"""The composition root's Socket.IO side: the hub, its transport and the /messaging
namespace of one node, on the services `hubbub.compose.build_services` made.

`hubbub.app` calls it in the ASGI app's lifespan, after `build_services`. Kept apart
from `hubbub.compose` so that the commands, which build the services alone, do not
import python-socketio.
"""

from __future__ import annotations

from functools import partial

from hubbub.config import Settings
from hubbub.edge.services import Services
from hubbub.edge.socket.gateway import GatewayServer
from hubbub.edge.socket.namespace import GatewayConfig, MessagingNamespace
from hubbub.edge.socket.transport import EngineTransport
from hubbub.realtime.hub import Hub
from hubbub.realtime.limits import MemoryRateLimiter
from hubbub.realtime.unread import UnreadCoalescer


def build_gateway(
    settings: Settings, services: Services, sio: GatewayServer
) -> tuple[Hub, MessagingNamespace, UnreadCoalescer]:
    """The hub (fan-out over `sio`'s Engine.IO sessions), the /messaging namespace and
    the node's unread coalescer, the hub and the coalescer subscribed to the bus."""
    hub = Hub(
        EngineTransport(sio, max_backlog=settings.max_socket_backlog),
        services.metrics,
        tracing=services.tracing,
        circles_of=services.user_queries.circles_of,
        conversations_of=services.conversation_queries.conversation_ids_of,
        interest=services.bus.interest,
        presence_coalesce_s=settings.presence_coalesce_s,
    )
    # Per socket and per node by design: it guards this node's loop from one socket.
    event_limiter = MemoryRateLimiter()
    namespace = MessagingNamespace(
        services,
        hub,
        event_limiter=event_limiter,
        config=GatewayConfig(
            allowed_origins=frozenset(o.lower() for o in settings.origins),
            event_rate_per_s=settings.socket_event_rate_per_s,
            event_burst=settings.socket_event_burst,
            typing_ttl_s=settings.typing_ttl_s,
            presence_grace_s=settings.presence_grace_s,
            presence_refresh_s=settings.presence_refresh_s,
            session_sweep_s=settings.session_sweep_s,
            max_sockets_per_user=settings.max_sockets_per_user,
        ),
    )
    services.bus.subscribe(hub)
    # After the hub: a membership event has joined its users' sockets when it comes here.
    unread = UnreadCoalescer(
        hub, services.unread_queries.unread_of, interval_s=settings.unread_coalesce_s
    )
    services.bus.subscribe(unread)
    track_socket_tables(services, sio, namespace, event_limiter)
    services.metrics.track("unread_pending", lambda: len(unread))
    services.metrics.track("presence_held_sockets", hub.held)
    return hub, namespace, unread


def track_socket_tables(
    services: Services,
    sio: GatewayServer,
    namespace: MessagingNamespace,
    event_limiter: MemoryRateLimiter,
) -> None:
    """Gauges of every table that holds an entry per session or socket, so that an
    operator (and the churn test) sees each fall back when sockets close."""
    track = services.metrics.track
    tables = sio.table_sizes() | namespace.table_sizes()
    tables["event_budgets"] = lambda: len(event_limiter)
    user_limiter = services.limiter
    if isinstance(user_limiter, MemoryRateLimiter):
        tables["user_budgets"] = lambda: len(user_limiter)
    for table, size in tables.items():
        track(table, size)
    by_transport = services.metrics.sockets_by_transport
    for transport, upgraded in (("websocket", True), ("polling", False)):
        by_transport.labels(transport).set_function(
            partial(_sessions_upgraded, sio, upgraded=upgraded)
        )


def _sessions_upgraded(sio: GatewayServer, *, upgraded: bool) -> float:
    """Engine.IO sessions on WebSocket (`upgraded`) or still long-polling, at a scrape."""
    return sum(1 for s in list(sio.eio.sockets.values()) if bool(s.upgraded) is upgraded)

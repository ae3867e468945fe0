"""Prometheus metrics of one node, in a registry of its own (built by the composition root).

Served at `/metrics`. Names follow Prometheus conventions; the gateway, the services'
edges and the Redis bus record into them.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sockets = Gauge(
            "hubbub_connected_sockets", "Sockets connected to this node", registry=r
        )
        self.handshake_seconds = Histogram(
            "hubbub_handshake_seconds",
            "Socket.IO handshake work",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events_in = Counter(
            "hubbub_socket_events_total", "Client events received, by type", ["event"], registry=r
        )
        self.messages_sent = Counter("hubbub_messages_sent_total", "Messages stored", registry=r)
        self.send_batch_size = Histogram(
            "hubbub_send_batch_size",
            "Sends stored together in one transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.send_batch_seconds = Histogram(
            "hubbub_send_batch_seconds",
            "One group commit, from taking its sends to their commit",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fanout_seconds = Histogram(
            "hubbub_fanout_seconds",
            "From commit to the last local socket write of an event",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "hubbub_deliveries_total", "Event frames written to sockets", registry=r
        )
        self.direct_writes = Counter(
            "hubbub_direct_writes_total",
            "Event frames written straight to a WebSocket transport (the rest were queued)",
            registry=r,
        )
        self.errors = Counter(
            "hubbub_errors_total", "Errors answered, by code", ["code"], registry=r
        )
        self.redis_failures = Counter(
            "hubbub_redis_failures_total",
            "Redis operations that failed, by kind",
            ["kind"],
            registry=r,
        )
        self.redis_reconnects = Counter(
            "hubbub_redis_reconnects_total", "Times the Redis bus resubscribed", registry=r
        )
        self.slow_consumers = Counter(
            "hubbub_slow_consumer_disconnects_total",
            "Sockets cut for an unread backlog",
            registry=r,
        )

        self.socket_tables = Gauge(
            "hubbub_socket_table_entries",
            "Entries of this node's tables kept per session or socket (sessions, sockets, "
            "budgets, timers, tasks), by table; each falls back as sockets close",
            ["table"],
            registry=r,
        )

    def track(self, table: str, size: Callable[[], float]) -> None:
        """Report `size()` as the entries of `table`, read at each scrape."""
        self.socket_tables.labels(table).set_function(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)

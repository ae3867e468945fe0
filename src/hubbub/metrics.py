"""Prometheus metrics of one node, in a registry of its own (built by the composition root).

Served at `/metrics`. Names follow Prometheus conventions; the gateway, the services'
edges and the Redis bus record into them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector

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
        self.sends_shed = Counter(
            "hubbub_sends_shed_total",
            "Sends refused (rate_limited) because the group commit was too far behind",
            registry=r,
        )
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

        self.notifications = Counter(
            "hubbub_notifications_total",
            "Notifications of new messages, by outcome: `socket` (a `notification` event), "
            "`dropped` (the notifier's queue was full: best effort), `failed` (its rules "
            "could not be read)",
            ["outcome"],
            registry=r,
        )
        self.notices_decided = Counter(
            "hubbub_notifier_decided_total",
            "New messages whose recipients the notifier has decided on, whether it "
            "notified anyone or not (its rules are read when it decides, not at the send)",
            registry=r,
        )
        self.pushes = Counter(
            "hubbub_web_pushes_total",
            "Web Push requests, by result: `delivered`, `gone` (404/410: the subscription "
            "is deleted), `failed` (any other answer, a timeout, a refused connection)",
            ["result"],
            registry=r,
        )

        self.socket_tables = Gauge(
            "hubbub_socket_table_entries",
            "Entries of this node's tables kept per session or socket (sessions, sockets, "
            "budgets, timers, tasks), by table; each falls back as sockets close",
            ["table"],
            registry=r,
        )

        self.events_out = Counter(
            "hubbub_events_out_total",
            "Events fanned out by this node (once per event, not per recipient), by name",
            ["event"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "hubbub_http_request_seconds",
            "HTTP requests, by method, route template and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_errors = Counter(
            "hubbub_http_errors_total",
            "HTTP answers with a 4xx or 5xx status, by the error's code",
            ["status", "code"],
            registry=r,
        )
        self.db_seconds = Histogram(
            "hubbub_db_statement_seconds",
            "SQL statements, by kind (the statement's first keyword)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.redis_seconds = Histogram(
            "hubbub_redis_round_trip_seconds",
            "Redis round trips (bus publishes, rate-limit checks), by kind",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sockets_by_transport = Gauge(
            "hubbub_sockets_by_transport",
            "Sockets connected to this node, by transport (websocket or polling)",
            ["transport"],
            registry=r,
        )
        self.gc_pause_seconds = Histogram(
            "hubbub_gc_pause_seconds",
            "Pauses of the cyclic garbage collector, by generation",
            ["generation"],
            buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=r,
        )
        # The standard process (RSS, CPU, open descriptors) and GC collectors: with a
        # registry of our own they are registered here, not on the default one.
        ProcessCollector(registry=r)
        GCCollector(registry=r)
        self._gc_pauses = [self.gc_pause_seconds.labels(str(g)) for g in range(3)]
        self._gc_started = 0.0
        self._db_kinds: dict[str, Any] = {}
        self._events_out: dict[str, Any] = {}
        self._http_timers: dict[tuple[str, str, int], Any] = {}

    def http_timer(self, method: str, route: str, status: int) -> Any:
        """The request histogram's child for (method, route template, status): looked
        up once, then from a dict."""
        key = (method, route, status)
        timer = self._http_timers.get(key)
        if timer is None:
            timer = self.http_seconds.labels(method, route, str(status))
            self._http_timers[key] = timer
        return timer

    def event_out(self, name: str) -> None:
        """Count one fanned-out event (its name is one of the catalog's)."""
        child = self._events_out.get(name)
        if child is None:
            child = self._events_out[name] = self.events_out.labels(name)
        child.inc()

    def watch_gc(self) -> Callable[[], None]:
        """Time every collection (gc.callbacks); returns what stops it."""

        def callback(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                self._gc_started = time.perf_counter()
            elif self._gc_started:
                self._gc_pauses[info["generation"]].observe(time.perf_counter() - self._gc_started)

        gc.callbacks.append(callback)
        return lambda: gc.callbacks.remove(callback)

    def db_kind(self, statement: str) -> Any:
        """The histogram child for a statement, by its first keyword (cached per
        statement text: the texts are the store's own, a bounded set)."""
        child = self._db_kinds.get(statement)
        if child is None:
            words = statement.lstrip(" (\n\t").split(None, 1)
            kind = words[0].upper() if words else "OTHER"
            if not kind.isalpha() or len(kind) > 16:
                kind = "OTHER"
            child = self.db_seconds.labels(kind)
            if len(self._db_kinds) < 10_000:
                self._db_kinds[statement] = child
        return child

    def track(self, table: str, size: Callable[[], float]) -> None:
        """Report `size()` as the entries of `table`, read at each scrape."""
        self.socket_tables.labels(table).set_function(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)

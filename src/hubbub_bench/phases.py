"""The socket phases a worker runs over its slice of the clients: connect, fanout,
throughput, storm and close, each answering with raw samples and counters.

Latency of a delivery is the receive time minus the send time the sender wrote into
the message content (`bench <send ns> …`) just before the frame went to the socket.
Sends follow a fixed schedule (open loop); how late the generator was against that
schedule is recorded too (`lag`), and says when the generator, not the server, limited
a figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from hubbub_bench.clock import NS_PER_MS, sleep_until
from hubbub_bench.wire import SioClient, connect


@dataclass
class ClientSpec:
    user_id: str
    token: str
    host: str
    port: int
    send_to: str | None = None  # the conversation this client sends to
    conversations: dict[str, int] = field(default_factory=dict)  # id -> last seq seen


@dataclass
class Recorder:
    """What the clients of this worker saw during the current phase."""

    measure_from: int = 0  # ns: sends before this (warm-up) are not measured
    measure_to: int = 2**62
    deliveries: array[float] = field(default_factory=lambda: array("d"))
    acks: array[float] = field(default_factory=lambda: array("d"))
    delivered_late: int = 0
    events: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    shed: int = 0  # sends refused as rate_limited within the measured window


class Worker:
    def __init__(self, index: int, namespace: str) -> None:
        self.index = index
        self.namespace = namespace
        self.specs: list[ClientSpec] = []
        self.clients: list[SioClient | None] = []
        self.rec = Recorder()
        self.inflight: dict[int, int] = {}  # throughput: client tag -> sends awaiting ack
        self.throughput_until = 0
        self.pad = ""
        self.send_count = 0

    # Events ------------------------------------------------------------------------

    def on_event(self, client: SioClient, name: str, payload: Any) -> None:
        rec = self.rec
        now = time.monotonic_ns()
        rec.events[name] += 1
        if name in ("new_message", "message_sent"):
            try:
                content = payload["message"]["content"]
            except (TypeError, KeyError):
                return
            if not isinstance(content, str) or not content.startswith("bench "):
                return
            sent = int(content.split(" ", 2)[1])
            if rec.measure_from <= sent < rec.measure_to:
                (rec.deliveries if name == "new_message" else rec.acks).append(
                    (now - sent) / NS_PER_MS
                )
            if name == "message_sent" and self.throughput_until:
                self._throughput_next(client)
        elif name in ("message_error", "exception"):
            code = "unknown"
            if isinstance(payload, dict):
                err = payload.get("error", payload)
                code = str(err.get("code", "unknown")) if isinstance(err, dict) else str(err)
            rec.errors[f"{name}:{code}"] += 1
            if code == "rate_limited" and rec.measure_from <= now < rec.measure_to:
                rec.shed += 1
            if name == "message_error" and self.throughput_until:
                # Rate limited or refused: try again a little later, still closed-loop.
                asyncio.get_running_loop().call_later(0.1, self._throughput_next, client)

    # Sending -----------------------------------------------------------------------

    def send(self, client: SioClient, conversation_id: str) -> int:
        """Send one message stamped with the time now; that time."""
        self.send_count += 1
        now = time.monotonic_ns()
        content = f"bench {now} {self.index}{self.pad}"
        client.emit_raw(
            client.event_prefix
            + orjson.dumps(
                [
                    "send_message",
                    {
                        "conversationId": conversation_id,
                        "content": content,
                        "type": "TEXT",
                        "optimisticId": f"b{self.index}-{os.getpid()}-{self.send_count}",
                    },
                ]
            )
        )
        return now

    def _throughput_next(self, client: SioClient) -> None:
        if time.monotonic_ns() >= self.throughput_until or client.transport is None:
            return
        spec = self.specs[client.tag]
        if spec.send_to is not None:
            self.send(client, spec.send_to)

    # Phases ------------------------------------------------------------------------

    async def connect_all(
        self, concurrency: int, start_at: int, spread_sources: int, timeout: float
    ) -> dict[str, Any]:
        await sleep_until(start_at)
        gate = asyncio.Semaphore(concurrency)
        times = array("d")
        refused: Counter[str] = Counter()
        self.clients = [None] * len(self.specs)

        async def one(i: int) -> None:
            spec = self.specs[i]
            async with gate:
                t0 = time.monotonic_ns()
                local = f"127.0.0.{1 + i % spread_sources}" if spread_sources > 1 else None
                try:
                    client = await connect(
                        host=spec.host,
                        port=spec.port,
                        namespace=self.namespace,
                        auth={"token": spec.token, "userId": spec.user_id},
                        on_event=self.on_event,
                        tag=i,
                        local_host=local,
                        timeout=timeout,
                    )
                except (OSError, TimeoutError) as exc:
                    refused[type(exc).__name__] += 1
                    return
                if client.connected.result() and client.ready.done():
                    times.append((time.monotonic_ns() - t0) / NS_PER_MS)
                    self.clients[i] = client
                else:
                    refused[(client.error or "refused")[:80]] += 1
                    client.abort()

        t0 = time.monotonic_ns()
        await asyncio.gather(*(one(i) for i in range(len(self.specs))))
        return {
            "connected": len(times),
            "refused": dict(refused),
            "handshake_ms": times,
            "elapsed_s": (time.monotonic_ns() - t0) / 1e9,
        }

    async def close_all(self) -> dict[str, Any]:
        waits = []
        for client in self.clients:
            if client is not None:
                client.close()
                waits.append(client.closed)
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), 30)
        self.clients = []
        return {"closed": len(waits)}

    def _reset(self, measure_from: int, measure_to: int, pad: int) -> None:
        self.rec = Recorder(measure_from=measure_from, measure_to=measure_to)
        self.pad = " " + "x" * max(0, pad - 40) if pad > 40 else ""

    def _result(self, extra: dict[str, Any]) -> dict[str, Any]:
        rec = self.rec
        alive = sum(1 for c in self.clients if c is not None and c.transport is not None)
        return {
            "deliveries_ms": rec.deliveries,
            "acks_ms": rec.acks,
            "events": dict(rec.events),
            "errors": dict(rec.errors),
            "shed": rec.shed,
            "alive": alive,
            **extra,
        }

    async def fanout(
        self, rate: float, start_at: int, warmup: float, duration: float, drain: float, pad: int
    ) -> dict[str, Any]:
        """Open loop: sends at `rate`/s (this worker's share), round-robin over clients."""
        measure_from = start_at + int(warmup * 1e9)
        end = measure_from + int(duration * 1e9)
        self._reset(measure_from, end, pad)
        senders = [c for c in self.clients if c is not None and self.specs[c.tag].send_to]
        lag = array("d")
        sent_measured = 0
        k = 0
        if senders and rate > 0:
            interval = 1e9 / rate
            await sleep_until(start_at)
            while True:
                due = start_at + int(k * interval)
                if due >= end:
                    break
                now = time.monotonic_ns()
                if due > now:
                    await asyncio.sleep((due - now) / 1e9)
                    continue
                client = senders[k % len(senders)]
                send_to = self.specs[client.tag].send_to
                assert send_to is not None
                stamped = self.send(client, send_to)
                # Measured by its stamp, as its deliveries are (a send due just before
                # an edge of the window may go out just after it).
                if measure_from <= stamped < end:
                    sent_measured += 1
                if due >= measure_from:
                    lag.append((time.monotonic_ns() - due) / NS_PER_MS)
                k += 1
        await sleep_until(end + int(drain * 1e9))
        return self._result({"sent": sent_measured, "sent_total": k, "lag_ms": lag})

    async def throughput(
        self, window: int, start_at: int, warmup: float, duration: float, drain: float, pad: int
    ) -> dict[str, Any]:
        """Closed loop: each sender keeps `window` sends awaiting `message_sent`."""
        measure_from = start_at + int(warmup * 1e9)
        end = measure_from + int(duration * 1e9)
        self._reset(measure_from, end, pad)
        await sleep_until(start_at)
        self.throughput_until = end
        first = self.send_count
        for client in self.clients:
            if client is not None and self.specs[client.tag].send_to:
                for _ in range(window):
                    self._throughput_next(client)
        await sleep_until(end)
        self.throughput_until = 0
        await asyncio.sleep(drain)
        return self._result({"sent_total": self.send_count - first})

    async def storm(
        self, start_at: int, sync: bool, retries: int, timeout: float, spread_sources: int
    ) -> dict[str, Any]:
        """Every client of this worker reconnects at `start_at`, then asks `sync`."""
        self._reset(0, 2**62, 0)
        back = array("d")
        refused = 0
        failures: Counter[str] = Counter()
        sync_changes = 0
        self.clients = [None] * len(self.specs)
        loop = asyncio.get_running_loop()

        async def one(i: int) -> None:
            nonlocal refused, sync_changes
            spec = self.specs[i]
            local = f"127.0.0.{1 + i % spread_sources}" if spread_sources > 1 else None
            for attempt in range(retries + 1):
                if attempt:
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
                reason = ""
                try:
                    client = await connect(
                        host=spec.host,
                        port=spec.port,
                        namespace=self.namespace,
                        auth={"token": spec.token, "userId": spec.user_id},
                        on_event=self.on_event,
                        tag=i,
                        local_host=local,
                        timeout=timeout,
                    )
                    ok = client.connected.result() and client.ready.done()
                    reason = client.error or ""
                except (OSError, TimeoutError) as exc:
                    ok, reason = False, type(exc).__name__
                if not ok:
                    refused += 1
                    failures[reason[:80] or "refused"] += 1
                    continue
                if sync:
                    answer: asyncio.Future[Any] = loop.create_future()
                    client.emit(
                        "sync",
                        {"conversations": spec.conversations},
                        lambda data, f=answer: f.done() or f.set_result(data),  # type: ignore[misc]
                    )
                    try:
                        result = await asyncio.wait_for(answer, timeout)
                    except TimeoutError:
                        failures["sync timed out"] += 1
                        client.abort()
                        continue
                    if not (isinstance(result, dict) and result.get("ok")):
                        failures[f"sync refused: {str(result)[:60]}"] += 1
                        client.abort()
                        continue
                    for conv in (result.get("conversations") or {}).values():
                        sync_changes += len(conv.get("changes") or [])
                back.append((time.monotonic_ns() - start_at) / NS_PER_MS)
                self.clients[i] = client
                return

        await sleep_until(start_at)
        await asyncio.gather(*(one(i) for i in range(len(self.specs))))
        return self._result(
            {
                "back_ms": back,
                "refused_attempts": refused,
                "failures": dict(failures),
                "sync_changes": sync_changes,
            }
        )

"""Traces (`hubbub.tracing`, `hubbub.otel`): off unless the standard variables ask, and
on, one send is one tree of spans, from the HTTP request through the group commit to the
fan-out, exported to an in-memory exporter."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hubbub.app import create_app
from hubbub.otel import OtelTracing
from hubbub.tracing import NoTracing, TracingUnavailable, tracing_from_environment
from tests.chat import create_group
from tests.conftest import Account, Backend, empty_database, make_settings

SEND_ROUTE = "POST /conversations/{conversation_id}/messages"


def test_traces_are_off_unless_an_exporter_is_named() -> None:
    for environ in ({}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_TRACES_EXPORTER": " "}):
        tracing = tracing_from_environment(environ)
        assert tracing.enabled is False
        # Off, every span is the one shared no-op context: nothing is made per span.
        assert tracing.span("a") is tracing.span("b", n=1) is tracing.batch_span("c", [None])
        assert tracing.current() is None
    assert isinstance(tracing_from_environment({}), NoTracing)
    on = tracing_from_environment({"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert on.enabled is True
    finally:
        on.shutdown()


def test_an_unknown_exporter_stops_start_up_with_one_line() -> None:
    with pytest.raises(TracingUnavailable, match="'zipkin'"):
        tracing_from_environment({"OTEL_TRACES_EXPORTER": "zipkin"})
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "serve", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "zipkin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("hubbub: configuration error:")
    assert "OTEL_TRACES_EXPORTER='zipkin'" in done.stderr
    assert "Traceback" not in done.stderr


async def _people(http: httpx.AsyncClient) -> tuple[Account, Account]:
    made = []
    for name in ("ann", "ben"):
        r = await http.post(
            "/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": "a long password"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        made.append(
            Account(
                id=body["user"]["id"],
                username=name,
                email=f"{name}@example.com",
                password="a long password",
                token=body["token"],
                refresh_token=body["refreshToken"],
            )
        )
    return made[0], made[1]


@dataclass
class Scene:
    """A traced node, a client, two people in a group, and the spans exported since."""

    http: httpx.AsyncClient
    exporter: InMemorySpanExporter
    ann: Account
    ben: Account
    conversation_id: str


@pytest.fixture
async def scene(backend: Backend) -> AsyncIterator[Scene]:
    exporter = InMemorySpanExporter()
    node = create_app(make_settings(backend), tracing=OtelTracing(SimpleSpanProcessor(exporter)))
    async with node.http.router.lifespan_context(node.http):
        try:
            transport = httpx.ASGITransport(app=node.asgi, client=("203.0.113.7", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                ann, ben = await _people(http)
                cid = await create_group(http, ann, ben)
                exporter.clear()
                yield Scene(http, exporter, ann, ben, cid)
        finally:
            await empty_database(node)


def _children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


# The spans a node's background work opens at the top of its own traces.
BACKGROUND_ROUNDS = {"hubbub.webhooks.round", "hubbub.digests.round"}


async def _background_roots(exporter: InMemorySpanExporter, request_trace: int) -> list[str]:
    """The root span names of every other trace exported, once each has its root (a
    round's statements finish before the round does)."""
    for _ in range(200):
        spans = exporter.get_finished_spans()
        others = {s.context.trace_id for s in spans} - {request_trace}
        roots = {s.context.trace_id: s.name for s in spans if s.parent is None}
        if others <= set(roots):
            return sorted(roots[t] for t in others)
        await asyncio.sleep(0.02)
    raise AssertionError(f"spans without a root: {[s.name for s in spans]}")


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_one_send_is_one_tree_from_the_request_to_the_fan_out(
    scene: Scene, backend: Backend
) -> None:
    r = await scene.http.post(
        f"/conversations/{scene.conversation_id}/messages",
        headers=scene.ann.headers,
        json={"content": "hi"},
    )
    assert r.status_code == 201, r.text
    spans = scene.exporter.get_finished_spans()
    request = _one([s for s in spans if s.parent is None], SEND_ROUTE)
    assert _attributes(request)["http.route"] == "/conversations/{conversation_id}/messages"
    send = _one(_children(spans, request), "hubbub.send")
    below_send = _children(spans, send)
    commit = _one(below_send, "hubbub.group_commit")
    assert _attributes(commit)["sends"] == 1
    below_commit = _children(spans, commit)
    fanned = {_attributes(s)["event"] for s in below_commit if s.name == "hubbub.fanout"}
    assert "new_message" in fanned
    # The group commit's own statements, run on the driver's connection, are traced too.
    statements = [
        _attributes(s)["db.statement"] for s in below_commit if "db.statement" in _attributes(s)
    ]
    assert any("INSERT INTO messages" in sql for sql in statements), statements
    if backend.is_postgres:  # the send's rate limit is a Redis script
        assert "EVAL" in [s.name for s in below_send]
    # Every span of the request is in its one trace. The node's background rounds (the
    # webhook worker, woken by this very send) run in traces of their own, each under one
    # named root: a span lost from the request would be a root of another name.
    others = await _background_roots(scene.exporter, request.context.trace_id)
    assert set(others) <= BACKGROUND_ROUNDS, others


async def test_a_read_traces_its_sql_and_a_group_commit_links_every_send(scene: Scene) -> None:
    answers = await asyncio.gather(
        *(
            scene.http.post(
                f"/conversations/{scene.conversation_id}/messages",
                headers=(scene.ann if i % 2 else scene.ben).headers,
                json={"content": f"m{i}"},
            )
            for i in range(6)
        )
    )
    assert [a.status_code for a in answers] == [201] * 6
    spans = scene.exporter.get_finished_spans()
    sends = [s for s in spans if s.name == "hubbub.send"]
    commits = [s for s in spans if s.name == "hubbub.group_commit"]
    assert len(sends) == 6
    assert sum(_attributes(c)["sends"] for c in commits) == 6
    # Each send is linked from the one commit that stored it (the first is also its
    # parent): a batch's span answers for every send in it.
    linked = [link.context.span_id for c in commits for link in c.links]
    assert sorted(linked) == sorted(s.context.span_id for s in sends)
    for commit in commits:
        assert commit.parent is not None
        assert commit.parent.span_id == commit.links[0].context.span_id

    scene.exporter.clear()
    r = await scene.http.get("/users/search", params={"q": "be"}, headers=scene.ann.headers)
    assert r.status_code == 200, r.text
    spans = scene.exporter.get_finished_spans()
    request = _one([s for s in spans if s.parent is None], "GET /users/search")
    statements = [
        s
        for s in spans
        if "db.statement" in _attributes(s) and s.context.trace_id == request.context.trace_id
    ]
    assert any("users" in _attributes(s)["db.statement"] for s in statements), [
        s.name for s in spans
    ]

"""Logs and metrics of a real `hubbub serve`, through a whole session.

One node with JSON logs at debug level and the access log on serves a scripted session
(register, login, refresh, two sockets with their tokens in `auth` and in the URL, sends,
an upload, errors produced on purpose, a password change, logout). Its whole output is
then read: every line is JSON, request lines carry their fields, and no token, password
or the signing secret appears anywhere. Its `/metrics`, read during the session, has
what an operator's dashboard (contrib/grafana-dashboard.json) queries.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET, Backend
from tests.gw import Client, Server, group, http_send, login, register, serving

ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "a brand new passphrase 7"
WEAK_PASSWORD = "Wk9x"
REQUEST_ID = "trace-0123456789abcdef"


@dataclass
class Session:
    log: str
    metrics: str
    secrets: list[str] = field(default_factory=list)
    routes_used: set[str] = field(default_factory=set)
    error_codes: dict[int, str] = field(default_factory=dict)
    conversation_id: str = ""
    caller_id: str = ""


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of `name` in a Prometheus exposition, with its labels."""
    out = []
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}(?:\{{(?P<labels>.*)\}})? (?P<value>\S+)", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels") or ""))
            out.append((labels, float(m.group("value"))))
    return out


async def run_session(srv: Server, session: Session) -> None:
    async with httpx.AsyncClient(base_url=srv.base, timeout=10) as http:
        ann = await register(http)
        bob = await register(http)
        ann2 = await login(http, ann)
        refreshed = await http.post("/auth/refresh", json={"refreshToken": ann2.refresh_token})
        assert refreshed.status_code == 200, refreshed.text
        pair = refreshed.json()
        session.secrets += [
            ann.token, ann.refresh_token, bob.token, bob.refresh_token,
            ann2.token, ann2.refresh_token, pair["token"], pair["refreshToken"],
            ann.password, NEW_PASSWORD, WEAK_PASSWORD, JWT_SECRET,
        ]  # fmt: skip
        cid = session.conversation_id = await group(http, ann, bob)
        session.caller_id = ann.id

        # Ann's token in `auth` and in the URL's query, over WebSocket.
        a = Client(f"{srv.base}?token={ann.token}")
        assert await a.connect(auth={"token": ann.token})
        await a.wait_for("connection_success")
        # Bob's token in the URL's query as well as in `auth`, over long-polling.
        b = Client(f"{srv.base}?token={bob.token}&access_token={bob.token}")
        assert await b.connect(auth={"token": bob.token}, transports=["polling"])
        await b.wait_for("connection_success")
        await a.send(cid, "over the socket")
        await b.wait_for("new_message")
        await http_send(http, bob, cid, "over HTTP")
        uploaded = await http.post(
            "/files/upload",
            headers=bob.headers,
            data={"type": "message_attachment"},
            files={"file": ("notes.txt", b"some notes", "text/plain")},
        )
        assert uploaded.status_code == 201, uploaded.text
        traced = await http.get(
            f"/conversations/{cid}", headers={**ann.headers, "X-Request-ID": REQUEST_ID}
        )
        assert traced.status_code == 200, traced.text
        assert traced.headers["x-request-id"] == REQUEST_ID
        made_up = await http.get(
            "/users/me", headers={"X-Request-ID": "not a sane id; with spaces"}
        )
        assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers["x-request-id"])

        # Errors on purpose: a 404 and a 422 (with a password in the refused body).
        missing = await http.get(f"/conversations/{uuid.uuid4()}", headers=ann.headers)
        assert missing.status_code == 404, missing.text
        weak = await http.post(
            "/users/me/password",
            json={"currentPassword": ann.password, "newPassword": WEAK_PASSWORD},
            headers=ann.headers,
        )
        assert weak.status_code == 422, weak.text
        session.error_codes = {404: missing.json()["code"], 422: weak.json()["code"]}

        scraped = await http.get("/metrics")
        assert scraped.status_code == 200
        session.metrics = scraped.text

        changed = await http.post(
            "/users/me/password",
            json={"currentPassword": bob.password, "newPassword": NEW_PASSWORD},
            headers=bob.headers,
        )
        assert changed.status_code == 200, changed.text
        out = await http.post("/auth/logout", headers={"Authorization": f"Bearer {pair['token']}"})
        assert out.status_code == 200, out.text
        await b.close()
        await a.close()
    session.routes_used = {
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/conversations",
        "/conversations/{conversation_id}",
        "/conversations/{conversation_id}/messages",
        "/files/upload",
        "/users/me",
        "/users/me/password",
    }


@pytest.fixture(scope="module")
async def session(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Session:
    directory = tmp_path_factory.mktemp("observed")
    env = {"HUBBUB_LOG_FORMAT": "json", "HUBBUB_LOG_LEVEL": "debug", "HUBBUB_ACCESS_LOG": "true"}
    result = Session(log="", metrics="")
    async with serving(backend, directory, env) as srv:
        await run_session(srv, result)
    result.log = srv.log.read_text()
    return result


def test_no_token_password_or_secret_is_ever_logged(session: Session) -> None:
    # The log holds the whole session (an access line for every route it used), so that
    # no secret in it means something. A count of its lines would measure the debug
    # lines of whatever libraries happen to log.
    logged = [json.loads(line) for line in session.log.splitlines() if line.strip()]
    assert {line.get("route") for line in logged} >= session.routes_used, session.log[-2000:]
    for secret in session.secrets:
        assert secret not in session.log, f"a secret is in the log: {secret[:8]}…"
    # The tokens in the sockets' URLs were there, redacted: in uvicorn's WebSocket line
    # and in the access log's long-polling lines.
    assert "/socket.io/?token=[redacted]" in session.log


def test_every_line_is_json_and_request_lines_carry_their_fields(session: Session) -> None:
    lines = [json.loads(line) for line in session.log.splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    requests = [line for line in lines if line["logger"] == "hubbub.access"]
    assert {r["route"] for r in requests} >= session.routes_used
    for r in requests:
        assert {"request_id", "method", "path", "status", "duration_ms", "route"} <= set(r)
    traced = [r for r in requests if r["request_id"] == REQUEST_ID]
    assert len(traced) == 1
    assert traced[0]["route"] == "/conversations/{conversation_id}"
    assert traced[0]["status"] == 200
    assert traced[0]["user_id"] == session.caller_id
    assert traced[0]["conversation_id"] == session.conversation_id
    assert len({r["request_id"] for r in requests}) == len(requests)
    assert any(r["status"] == 404 for r in requests)
    assert any(r["status"] == 422 for r in requests)


def test_socket_event_lines_name_their_socket_and_event(session: Session) -> None:
    lines = [json.loads(line) for line in session.log.splitlines() if line.strip()]
    socket_lines = [line for line in lines if "socket_id" in line]
    assert any(line.get("event") == "send_message" for line in socket_lines), socket_lines[:5]
    assert all("request_id" not in line for line in socket_lines)


def test_metrics_show_the_session(session: Session) -> None:
    text = session.metrics
    timed = samples(text, "hubbub_http_request_seconds_count")
    routes = {labels["route"] for labels, value in timed if value > 0}
    assert routes >= session.routes_used - {"/users/me/password"}, routes
    assert all("/conversations/" + "0" not in r for r in routes)  # templates, not paths
    assert any(labels["status"] == "201" for labels, _ in timed)

    errors = {
        (lab["status"], lab["code"]): v for lab, v in samples(text, "hubbub_http_errors_total")
    }
    assert errors[("404", session.error_codes[404])] >= 1
    assert errors[("422", session.error_codes[422])] >= 1

    kinds = {lab["kind"]: v for lab, v in samples(text, "hubbub_db_statement_seconds_count")}
    assert kinds.get("SELECT", 0) > 0, kinds
    assert kinds.get("INSERT", 0) > 0, kinds

    assert sum(v for _, v in samples(text, "hubbub_send_batch_size_count")) >= 1
    assert sum(v for _, v in samples(text, "hubbub_send_batch_seconds_count")) >= 1
    transports = {lab["transport"]: v for lab, v in samples(text, "hubbub_sockets_by_transport")}
    assert transports == {"websocket": 1.0, "polling": 1.0}
    out = {lab["event"]: v for lab, v in samples(text, "hubbub_events_out_total")}
    assert out.get("new_message", 0) >= 2, out

    assert samples(text, "process_resident_memory_bytes")[0][1] > 0
    assert samples(text, "process_open_fds")[0][1] > 0
    assert samples(text, "process_cpu_seconds_total")
    assert sum(v for _, v in samples(text, "python_gc_collections_total")) > 0
    generations = {lab["generation"] for lab, _ in samples(text, "hubbub_gc_pause_seconds_count")}
    assert generations == {"0", "1", "2"}


def test_the_dashboard_queries_only_metrics_the_server_has(session: Session) -> None:
    dashboard = json.loads((ROOT / "contrib" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 10
    names = {n for e in exprs for n in re.findall(r"\b(?:hubbub|process|python)_[a-z_]+", e)}
    # A metric by labels shows no sample before its first one (Redis's, on one node):
    # its declaration (`# TYPE`) is there from the start.
    declared = re.findall(r"^# TYPE (\S+) (\w+)$", session.metrics, flags=re.M)
    exposed = {
        name + suffix for name, _ in declared for suffix in ("", "_bucket", "_sum", "_count")
    }
    missing = sorted(n for n in names if n not in exposed)
    assert not missing, missing


@pytest.fixture(scope="module")
async def restricted(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    env = {"HUBBUB_METRICS_ALLOW": "10.1.0.0/16", "HUBBUB_METRICS_TOKEN": "scrape-" + "x" * 24}
    async with serving(backend, tmp_path_factory.mktemp("restricted"), env) as srv:
        yield srv


async def test_metrics_refuse_a_caller_neither_allowed_nor_with_the_token(
    restricted: Server,
) -> None:
    async with httpx.AsyncClient(base_url=restricted.base, timeout=10) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 404
            assert refused.json()["code"] == "not_found"
            assert "hubbub_" not in refused.text
        token = {"Authorization": "Bearer scrape-" + "x" * 24}
        allowed = await http.get("/metrics", headers=token)
        assert allowed.status_code == 200
        assert "hubbub_http_request_seconds" in allowed.text


def test_text_lines_name_the_request_they_belong_to(tmp_path: Path) -> None:
    """The text format too: a line written while a request is handled ends with its id."""
    from tests.gw import start_server

    srv = start_server(tmp_path, {"HUBBUB_ACCESS_LOG": "true", "HUBBUB_LOG_LEVEL": "info"})
    try:
        answer = httpx.get(srv.base + "/healthz", headers={"X-Request-ID": REQUEST_ID})
        assert answer.headers["x-request-id"] == REQUEST_ID
    finally:
        srv.stop()
    lines = [line for line in srv.log.read_text().splitlines() if "hubbub.access" in line]
    assert any(line.endswith(f"[request_id={REQUEST_ID}]") for line in lines), lines
    assert all(not line.startswith("{") for line in lines)


@pytest.mark.parametrize("access_log", [False, True], ids=["access log off", "access log on"])
def test_a_websocket_opening_is_an_access_line(tmp_path: Path, access_log: bool) -> None:
    """Each WebSocket's opening (uvicorn's `[accepted]` line) is written with the access
    log and not otherwise, at the same level as everything else; its token redacted. The
    websockets library's "connection open" is not written, nor is anything about the
    session's end."""
    from websockets.sync.client import connect

    from tests.gw import start_server

    env = {"HUBBUB_LOG_LEVEL": "info", "HUBBUB_ACCESS_LOG": str(access_log).lower()}
    srv = start_server(tmp_path, env)
    try:
        url = srv.base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        for _ in range(2):
            with connect(url + "&token=secret-in-the-url") as ws:
                assert str(ws.recv()).startswith("0{")  # Engine.IO's open packet: served
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "Application startup complete" in log, log[-2000:]  # info lines are written
    assert "secret-in-the-url" not in log
    assert "connection open" not in log, log[-2000:]
    assert "ERROR" not in log, log[-2000:]
    opened = [line for line in log.splitlines() if '"WebSocket /socket.io/' in line]
    if access_log:
        assert len(opened) == 2, opened
        assert all("INFO hubbub.websocket:" in line for line in opened), opened
        assert all("token=[redacted]" in line for line in opened), opened
    else:
        assert opened == [], opened

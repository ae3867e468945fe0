"""The reference in docs/ cannot drift from the code, and cites nothing that is not here.

- Every `*.md` path that any file of the repository names exists in the repository.
- The event tables of docs/socket-protocol.md name exactly the events of the code: the
  client's (`hubbub.wire.socket.CLIENT_EVENTS`, the namespace's handlers) and the
  server's (`hubbub.events.catalog` and the socket edge's own answers).
- Every operation of /openapi.json is listed in docs/http-api.md.
- Every table of the models is described in docs/data-model.md.
"""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

import httpx

from hubbub.app import Node
from hubbub.events import catalog
from hubbub.events.asyncapi import CATALOG_PAYLOADS, INTERNAL_EVENTS, server_events
from hubbub.realtime.hub import NAMESPACE
from hubbub.store.models import Base
from hubbub.wire.events import SOCKET_ANSWERS
from hubbub.wire.socket import CLIENT_EVENTS

REPO = Path(__file__).resolve().parent.parent
# A path ending in .md, not inside a URL, an address or another word.
MD_REFERENCE = re.compile(r"(?<![\w./:@#-])([\w./-]*[\w-]\.md)\b")


def repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / name for name in listed if (REPO / name).is_file()]


def test_every_cited_document_is_in_the_repository() -> None:
    missing: list[str] = []
    scanned = 0
    for path in repository_files():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue  # not text
        scanned += 1
        for match in MD_REFERENCE.finditer(text):
            cited = match.group(1)
            if not ((REPO / cited).exists() or (path.parent / cited).exists()):
                line = text.count("\n", 0, match.start()) + 1
                missing.append(f"{path.relative_to(REPO)}:{line}: {cited}")
    assert scanned > 100, scanned
    assert missing == []


def test_the_scan_finds_a_cited_document() -> None:
    md = ".md"  # kept apart, so that this file cites nothing itself
    text = f"see ELSEWHERE{md}, and docs/x{md}. https://example.org/a/NOTES{md}"
    cited = [m.group(1) for m in MD_REFERENCE.finditer(text)]
    assert cited == [f"ELSEWHERE{md}", f"docs/x{md}"]


def table_events(section: str) -> list[str]:
    """The first column of the table under `## <section>` in docs/socket-protocol.md."""
    text = (REPO / "docs/socket-protocol.md").read_text("utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", body, flags=re.MULTILINE)


async def test_the_client_events_table_names_what_the_namespace_handles(node: Node) -> None:
    documented = table_events("Client to server events")
    assert len(documented) == len(set(documented))
    assert set(documented) == set(CLIENT_EVENTS)
    namespace = node.sio.namespace_handlers[NAMESPACE]
    handled = {name: model for name, (model, _) in namespace._handlers.items()}
    assert handled == CLIENT_EVENTS


def test_the_server_events_table_names_every_event_a_client_receives() -> None:
    documented = table_events("Server to client events")
    assert len(documented) == len(set(documented))
    assert set(documented) == set(server_events())
    # Every event class of the catalog either reaches clients (with a payload model) or
    # is one of the internal ones, which the docs name as reaching nobody.
    classes = {
        cls
        for _, cls in inspect.getmembers(catalog, inspect.isclass)
        if cls.__module__ == catalog.__name__ and isinstance(getattr(cls, "name", None), str)
    }
    assert classes == set(CATALOG_PAYLOADS) | set(INTERNAL_EVENTS)
    text = (REPO / "docs/socket-protocol.md").read_text("utf-8")
    for cls in INTERNAL_EVENTS:
        assert cls.name not in documented
        assert f"`{cls.name}`" in text
    assert not set(SOCKET_ANSWERS) & {cls.name for cls in classes}


async def test_every_openapi_operation_is_in_the_http_reference(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    text = (REPO / "docs/http-api.md").read_text("utf-8")
    operations = [
        f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item
    ]
    assert len(operations) > 40
    assert [op for op in operations if f"`{op}`" not in text] == []
    # A row that answers other than 200 on success (201, 202) says so.
    rows = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}
    unsaid = [
        (f"{method.upper()} {path}", status)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
        if status in ("201", "202") and status not in rows[f"{method.upper()} {path}"]
    ]
    assert unsaid == []


def test_every_table_is_in_the_data_model() -> None:
    text = (REPO / "docs/data-model.md").read_text("utf-8")
    tables = list(Base.metadata.tables)
    assert len(tables) >= 12
    assert [t for t in tables if f"| `{t}` |" not in text] == []

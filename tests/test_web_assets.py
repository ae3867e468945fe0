"""The web client: committed build matches web/ sources, and `hubbub serve` serves it at /.

The build (web/ -> src/hubbub/web/) stamps build-info.json with a hash of every source
file it reads (web/scripts/stamp.mjs); this recomputes that hash, so CI fails when
someone changes web/ without rebuilding (`cd web && npm run build`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WEB_SRC = ROOT / "web"
WEB_BUILD = ROOT / "src" / "hubbub" / "web"

# Keep in step with SOURCES in web/scripts/stamp.mjs.
SOURCES = (
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "public",
    "src",
    "scripts",
)


def source_hash() -> tuple[str, int]:
    files: list[str] = []
    for entry in SOURCES:
        path = WEB_SRC / entry
        if path.is_file():
            files.append(entry)
        elif path.is_dir():
            files.extend(p.relative_to(WEB_SRC).as_posix() for p in path.rglob("*") if p.is_file())
    files.sort()
    outer = hashlib.sha256()
    for rel in files:
        digest = hashlib.sha256((WEB_SRC / rel).read_bytes()).hexdigest()
        outer.update(f"{rel}\n{digest}\n".encode())
    return outer.hexdigest(), len(files)


def test_committed_build_is_built_from_current_sources() -> None:
    info = json.loads((WEB_BUILD / "build-info.json").read_text())
    expected, count = source_hash()
    assert info["files"] == count, "web/ gained or lost files: run `cd web && npm run build`"
    assert info["sourceHash"] == expected, (
        "src/hubbub/web is stale: web/ changed since it was built; run `cd web && npm run build`"
    )


def test_index_references_only_assets_that_exist() -> None:
    index = (WEB_BUILD / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="(/[^"]+)"', index)
    assert any(ref.endswith(".js") for ref in refs)
    for ref in refs:
        assert (WEB_BUILD / ref.lstrip("/")).is_file(), ref
    assert "<script>" not in index, "no inline script (the page's CSP forbids it)"


def test_client_sources_never_build_html_from_strings() -> None:
    """Message text is rendered as text: no innerHTML-style sinks anywhere in the client."""
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write|eval\("
    )
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in (WEB_SRC / "src").rglob("*.ts*")
        for m in sinks.finditer(p.read_text())
    ]
    assert offenders == []


async def test_the_page_its_assets_and_client_routes_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script is not None
    js = await client.get(script.group(1))
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "immutable" in js.headers["cache-control"]
    assert js.content == (WEB_BUILD / script.group(1).lstrip("/")).read_bytes()

    for route in (
        "/c/0190a1b2-0000-7000-8000-000000000001",
        "/s/0190a1b2-0000-7000-8000-00000000000f",
        "/settings",
        "/settings/admin",
    ):
        routed = await client.get(route)
        assert routed.status_code == 200
        assert routed.text == page.text

    icon = await client.get("/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")


async def test_api_paths_keep_their_answers(client: httpx.AsyncClient) -> None:
    # /admin is the API's (404 to all but administrators), never the page.
    for path in ("/assets/missing.js", "/assets/..%2Fbuild-info.json", "/no/such/thing", "/admin"):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        body = missing.json()
        assert body["statusCode"] == 404
        assert body["code"] == "not_found"
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/auth/login" in schema["paths"]
    assert not any(
        p == "/" or p.startswith(("/assets", "/c/", "/s/", "/settings")) for p in schema["paths"]
    )
    unauthorized = await client.get("/users/me")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["statusCode"] == 401

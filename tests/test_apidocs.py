"""/docs and /redoc come from the package, pinned, under a Content-Security-Policy.

The pages reference nothing on another origin (the web client's origin keeps a refresh
token, and the docs must work offline), their assets are served here with their types,
and the vendored files are byte for byte the pinned packages' (`vendored.json`;
`scripts/apidocs-check` compares them with the published packages).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

APIDOCS = Path(__file__).resolve().parent.parent / "src" / "hubbub" / "apidocs"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_from_this_origin(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert csp["style-src"].startswith("'self'")
    assert "http" not in response.headers["content-security-policy"]
    assert "//" not in response.text  # no other origin, not even protocol-relative
    found = references(response.text)
    assert found, response.text
    scripts = [ref for ref in found if ref.endswith((".js", ".css"))]
    assert scripts
    for ref in found:
        assert ref.startswith("/"), ref
    for ref in scripts:
        asset = await client.get(ref)
        assert asset.status_code == 200, ref
        assert asset.headers["content-type"] == TYPES[Path(ref).suffix], ref
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert "cdn." not in asset.text[:2000]


async def test_only_the_docs_assets_are_served(client: httpx.AsyncClient) -> None:
    for path in (
        "/api-docs/nothing.js",
        "/api-docs/vendored.json",
        "/api-docs/docs.html",
        "/api-docs/..%2Fapp.py",
        "/api-docs/redoc.LICENSE",
    ):
        assert (await client.get(path)).status_code == 404, path


def test_vendored_assets_are_the_pinned_packages_files() -> None:
    manifest = json.loads((APIDOCS / "vendored.json").read_text())
    assert set(manifest) == {"swagger-ui-dist", "redoc"}
    for package, entry in manifest.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), package  # exact, never a range
        assert entry["integrity"].startswith("sha512-"), package
        for name, file in entry["files"].items():
            digest = hashlib.sha256((APIDOCS / name).read_bytes()).hexdigest()
            assert digest == file["sha256"], f"{name} is not {package}@{entry['version']}"

"""Serves the built web client (hubbub/web, built from web/ by Vite) at `/`.

Only the client's own paths are answered here: `/`, its client-side routes (`/c/<id>`,
`/s/<id>`, `/settings`, `/settings/admin`), its hashed assets under `/assets/` and the
few files at the top of the build (favicon, the service worker `sw.js`, the manifest).
Every other path is left to the API, so an unknown API path still gets the JSON error
body (`/admin` included: it is the administration's). The page is sent with a strict
Content-Security-Policy: scripts, styles and connections only from this origin, no
inline script, images also from blob: URLs (previews of attachments being uploaded).
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, Response

from hubbub.edge.http.responses import error_response

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

# Client-side routes that load the page (see web/src/app.tsx, parseRoute).
CLIENT_ROUTES = ("/c/{rest:path}", "/s/{rest:path}", "/settings", "/settings/{rest:path}")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

ASSET_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Asset names carry a hash of their content.
    "Cache-Control": "public, max-age=31536000, immutable",
}

# The files at the top of the build: the favicon, the service worker (`/sw.js`, whose
# scope is its folder: the whole app) and the installable app's manifest.
TOP_FILE_TYPES = {
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".js": "text/javascript; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}

_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _not_found() -> Response:
    return error_response(404, "not_found", "Not found")


def install_web(app: FastAPI, web_dir: Path = WEB_DIR) -> None:
    """Add the web client's routes; call after the API routers."""
    index = web_dir / "index.html"
    assets = web_dir / "assets"
    top_files = {
        p.name: p
        for p in (web_dir.iterdir() if web_dir.is_dir() else ())
        if p.is_file() and p.suffix in TOP_FILE_TYPES
    }

    async def page() -> Response:
        if not index.is_file():
            return _not_found()
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    app.add_api_route("/", page, methods=["GET", "HEAD"], include_in_schema=False)
    for route in CLIENT_ROUTES:
        app.add_api_route(route, page, methods=["GET", "HEAD"], include_in_schema=False)

    async def asset(name: str) -> Response:
        if not _ASSET_NAME.fullmatch(name) or ".." in name:
            return _not_found()
        path = assets / name
        if not path.is_file():
            return _not_found()
        return FileResponse(path, headers=ASSET_HEADERS)

    app.add_api_route("/assets/{name}", asset, methods=["GET", "HEAD"], include_in_schema=False)

    for name, path in top_files.items():

        async def top_file(path: Path = path) -> Response:
            # Not hashed: the service worker and the manifest must be fetched anew.
            headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
            return FileResponse(path, media_type=TOP_FILE_TYPES[path.suffix], headers=headers)

        app.add_api_route(f"/{name}", top_file, methods=["GET", "HEAD"], include_in_schema=False)

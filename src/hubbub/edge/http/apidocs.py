"""The API's interactive docs, `/docs` (Swagger UI) and `/redoc` (Redoc), from the package.

Their scripts and styles are vendored into `hubbub/apidocs` at pinned versions
(`vendored.json`: each file's package, exact version and SHA-256; `scripts/apidocs-check`
compares them with the published packages), so the pages load nothing from another
origin and work offline. They are sent with a Content-Security-Policy that allows
scripts and styles from this origin only, plus what each viewer needs: images from
data: URLs (icons in the style sheets) and, for Redoc, inline styles (it generates its
styles at run time) and a search worker from a blob: URL.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, Response

from hubbub.edge.http.responses import error_response

APIDOCS_DIR = Path(__file__).resolve().parents[2] / "apidocs"
ASSET_PREFIX = "/api-docs"

_COMMON = (
    "default-src 'none'",
    "script-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
SWAGGER_CSP = "; ".join((*_COMMON, "style-src 'self'"))
REDOC_CSP = "; ".join((*_COMMON, "style-src 'self' 'unsafe-inline'", "worker-src blob:"))

_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_ASSET = re.compile(r"[a-z][a-z0-9.-]{0,60}\.(?:js|css)")


def _page_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-cache",
    }


def _page(head: str, body: str) -> bytes:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>hubbub API</title>
  <link rel="icon" href="/favicon.svg">{head}
</head>
<body>
  {body}
</body>
</html>
""".encode()


# Swagger UI is set up by a file of its own: the page has no inline script.
SWAGGER_PAGE = _page(
    f'\n  <link rel="stylesheet" href="{ASSET_PREFIX}/swagger-ui.css">',
    f'<div id="swagger-ui"></div>\n  <script src="{ASSET_PREFIX}/swagger-ui-bundle.js"></script>'
    f'\n  <script src="{ASSET_PREFIX}/swagger-init.js"></script>',
)
REDOC_PAGE = _page(
    "",
    '<redoc spec-url="/openapi.json"></redoc>'
    f'\n  <script src="{ASSET_PREFIX}/redoc.standalone.js"></script>',
)


def install_apidocs(app: FastAPI, directory: Path = APIDOCS_DIR) -> None:
    """Serve /docs, /redoc and their assets; the FastAPI app is made with docs_url=None."""
    for path, page, csp in (
        ("/docs", SWAGGER_PAGE, SWAGGER_CSP),
        ("/redoc", REDOC_PAGE, REDOC_CSP),
    ):

        async def serve_page(page: bytes = page, csp: str = csp) -> Response:
            return Response(page, media_type="text/html; charset=utf-8", headers=_page_headers(csp))

        app.add_api_route(path, serve_page, methods=["GET", "HEAD"], include_in_schema=False)

    async def asset(name: str) -> Response:
        file = directory / name
        if not _ASSET.fullmatch(name) or not file.is_file():
            return error_response(404, "not_found", "Not found")
        return FileResponse(
            file,
            media_type=_MEDIA_TYPES[file.suffix],
            # Not named by their content: revalidated, so an upgrade shows at once.
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
        )

    app.add_api_route(
        ASSET_PREFIX + "/{name}", asset, methods=["GET", "HEAD"], include_in_schema=False
    )

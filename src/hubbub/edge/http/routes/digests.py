"""HTTP edge for /digests/unsubscribe: the link at the bottom of every digest email.

`GET` shows a small page that asks to confirm (mail scanners follow links: a GET
changes nothing); `POST` turns the user's digests off, from that page's button or in
one click from the mail client (RFC 8058: `List-Unsubscribe-Post`), with the signed
token in the query either way. Parse, one service call, serialise.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse, Response

from hubbub.edge.http.deps import ServicesDep
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.webui import PAGE_HEADERS

router = APIRouter(prefix="/digests", tags=["notifications"])

TokenQuery = Query(min_length=1, max_length=200, description="the token of the email's link")


def _page(title: str, body: str) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/unsubscribe", response_class=HTMLResponse, responses=raises(400))
async def confirm_page(services: ServicesDep, token: str = TokenQuery) -> Response:
    """A page with one button that unsubscribes; 400 for a token this server did not make."""
    services.digests.check_token(token)
    action = escape(f"?token={quote(token, safe='')}")
    return _page(
        "Stop email digests?",
        "<p>You will no longer get emails listing the messages you missed. "
        "You can turn them back on in your notification settings.</p>"
        f'<form method="post" action="{action}"><button type="submit">Unsubscribe</button>'
        "</form>",
    )


@router.post("/unsubscribe", response_class=HTMLResponse, responses=raises(400))
async def unsubscribe(services: ServicesDep, token: str = TokenQuery) -> Response:
    """Turn the token's user's digests off (again is fine); 400 for a bad token."""
    await services.digests.unsubscribe(token)
    return _page(
        "Email digests are off",
        "<p>You will get no more digest emails. "
        "You can turn them back on in your notification settings.</p>",
    )

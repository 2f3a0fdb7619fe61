"""GET / (the chat page) and GET /static/{name} (its script and style), served by the app itself.

Everything the page needs ships in ``service/static``: no CDN, so it works offline. The page itself is
public (it must load for a person to type an API key); the API calls it makes carry the key. A strict
Content-Security-Policy allows only this origin's own script, style and requests.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from footnote.errors import NotFound

router = APIRouter(tags=["chat page"])

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "documents.js": "text/javascript; charset=utf-8",
    "documents.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _static(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise NotFound(f"no static file {name!r}")
    body = resources.files("footnote.service").joinpath("static", name).read_bytes()
    return Response(content=body, media_type=MEDIA_TYPES[name], headers=SECURITY_HEADERS)


@router.get("/", include_in_schema=False)
def chat_page() -> Response:
    """The chat page: ask, read the quoted answer, open its footnotes and the documents they quote."""
    return _static("index.html")


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    return _static(name)

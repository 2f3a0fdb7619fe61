"""GET / (the chat page) and GET /static/{name} (its script and style), served by the app itself.

Everything the page needs ships in ``service/static``: no CDN, so it works offline. The page itself is
public (it must load for a person to type an API key); the API calls it makes carry the key. A strict
Content-Security-Policy allows only this origin's own script, style and requests.

The page carries this server's request limits (``$name`` placeholders in ``index.html``, filled from the
settings), so that what it sends is what the server accepts under any settings.
"""

from __future__ import annotations

from importlib import resources
from string import Template

from fastapi import APIRouter
from fastapi.responses import Response

from footnote.errors import NotFound
from footnote.service.deps import SettingsDep
from footnote.settings import Settings

router = APIRouter(tags=["chat page"])

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PAGE = "index.html"
MEDIA_TYPES = {
    PAGE: "text/html; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "documents.js": "text/javascript; charset=utf-8",
    "documents.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _read(name: str) -> bytes:
    return resources.files("footnote.service").joinpath("static", name).read_bytes()


def _response(name: str, body: bytes) -> Response:
    return Response(content=body, media_type=MEDIA_TYPES[name], headers=SECURITY_HEADERS)


def _page(settings: Settings) -> Response:
    limits = {name: getattr(settings, name)
              for name in ("max_question_chars", "max_history_turns", "max_turn_chars", "max_history_chars")}
    html = Template(_read(PAGE).decode("utf-8")).substitute(limits)
    return _response(PAGE, html.encode("utf-8"))


@router.get("/", include_in_schema=False)
def chat_page(settings: SettingsDep) -> Response:
    """The chat page: ask, read the quoted answer, open its footnotes and the documents they quote."""
    return _page(settings)


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str, settings: SettingsDep) -> Response:
    if name not in MEDIA_TYPES:
        raise NotFound(f"no static file {name!r}")
    return _page(settings) if name == PAGE else _response(name, _read(name))

"""GET /docs (Swagger UI) and GET /redoc (ReDoc), served with their scripts from this server: no CDN.

The assets come from the ``fastapi-offline`` package, which bundles Swagger UI and ReDoc. Like the chat page,
the docs and ``/openapi.json`` are public even when FOOTNOTE_API_KEY is set: they describe the API, hold no
document text, and a browser cannot attach a bearer token to open them (docs/api.md, Security).
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from footnote.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}
FAVICON = "/static/favicon.svg"


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Footnote API",
                               swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs/assets/swagger-ui.css", swagger_favicon_url=FAVICON)


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="Footnote API",
                          redoc_js_url="/docs/assets/redoc.standalone.js", redoc_favicon_url=FAVICON,
                          with_google_fonts=False)


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no docs asset {name!r}")
    body = resources.files("fastapi_offline").joinpath("static", name).read_bytes()
    return Response(content=body, media_type=ASSETS[name], headers={"Cache-Control": "max-age=86400"})

"""How errors become HTTP responses: one JSON ``detail`` line, never a traceback or a bare 500.

Domain errors map by type (``footnote.errors``); request validation errors are flattened into a
sentence that names the field and what to fix. Under ``/v1/`` (the OpenAI-compatible API) the body
takes OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so SDKs show it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from footnote.errors import FootnoteError, IndexError_, InputError, NotFound
from footnote.service.models import ErrorResponse

log = logging.getLogger("footnote.service")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "FOOTNOTE_API_KEY is set and the bearer token is missing or wrong"},
    404: {"model": ErrorResponse, "description": "Unknown document"},
    415: {"model": ErrorResponse, "description": "The body is not `application/json`"},
    422: {"model": ErrorResponse, "description": "Invalid JSON or invalid fields; `detail` says what to fix"},
    503: {"model": ErrorResponse, "description": "No index yet (run `footnote ingest`) or it cannot be loaded"},
}

_STATUS = ((NotFound, 404), (IndexError_, 503), (InputError, 422))


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # The first part says where (body, query string, path); a field may itself be called "query".
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)]
    return ".".join(parts) or "body"


def describe_validation(exc: RequestValidationError) -> tuple[str, str | None]:
    """A one-line message for the first problems, and the first offending field."""
    messages: list[str] = []
    first_field: str | None = None
    for err in exc.errors()[:5]:
        kind = err.get("type", "")
        field = _field(err.get("loc", ()))
        if kind == "json_invalid":
            pos = err.get("loc", ("body", "?"))[-1]
            reason = (err.get("ctx") or {}).get("error", "malformed")
            messages.append(f"the body is not valid JSON (at character {pos}: {reason})")
            continue
        first_field = first_field or field
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if kind == "missing":
            msg = "is required"
        elif kind == "extra_forbidden":
            msg = "is not a known field"
        elif kind in ("model_attributes_type", "dict_type") and field == "body":
            msg = "must be a JSON object"
        messages.append(f"{field}: {msg}")
    return "; ".join(messages) or "invalid request", first_field


def _body(request: Request, status: int, message: str, param: str | None = None,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    if request.url.path.startswith("/v1/"):
        kind = {401: "authentication_error", 404: "not_found_error", 503: "service_unavailable"}.get(
            status, "invalid_request_error" if status < 500 else "server_error"
        )
        return {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return {"detail": message, **(extra or {})}


def install(app: FastAPI) -> None:
    """Register the handlers and the content-type guard on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = describe_validation(exc)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                  for e in exc.errors()[:20]]
        # OpenAI answers invalid requests with 400, and its SDKs raise BadRequestError on it.
        status = 400 if request.url.path.startswith("/v1/") else 422
        return JSONResponse(status_code=status, content=_body(request, status, message, field, {"errors": errors}))

    @app.exception_handler(FootnoteError)
    async def _domain(request: Request, exc: FootnoteError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse(status_code=status, content=_body(request, status, str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=_body(request, exc.status_code, str(exc.detail)),
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content=_body(request, 500, "internal error: see the server log"))

    app.add_middleware(JsonOnly)


class JsonOnly:
    """Requests with a body must send ``Content-Type: application/json``; anything else gets 415."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope.get("headers") or [])
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json":
                request = Request(scope)
                got = ctype.decode("latin-1") or "none"
                message = f"send the body as JSON with `Content-Type: application/json` (got {got})"
                response = JSONResponse(status_code=415, content=_body(request, 415, message))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

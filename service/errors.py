"""How errors become HTTP responses: one JSON ``detail`` line, never a traceback or a bare 500.

Domain errors map by type (``footnote.errors``); request validation errors are flattened into a
sentence that names the field and what to fix: a body that is not JSON at all is 400, valid JSON with
invalid fields 422. Under ``/v1/`` (the OpenAI-compatible API) every client error is 400 (as OpenAI does)
and the body takes OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so SDKs show it.
The checks before routing (host, key, content type, size) are ``service.guard``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from footnote.errors import (
    FootnoteError,
    IndexError_,
    InputError,
    NotFound,
    ReadOnlyDocument,
    UnsupportedUpload,
    UploadTooLarge,
    WritesRefused,
)
from footnote.service.models import ErrorResponse, OpenAIErrorResponse

log = logging.getLogger("footnote.service")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON (malformed, not UTF-8, nested too deeply), "
                                                 "or the Host header is not one this server answers to"},
    401: {"model": ErrorResponse, "description": "FOOTNOTE_API_KEY is set and the bearer token is missing or wrong"},
    404: {"model": ErrorResponse, "description": "Unknown document"},
    413: {"model": ErrorResponse, "description": "The body is over FOOTNOTE_MAX_BODY_KB"},
    415: {"model": ErrorResponse, "description": "The body is not `application/json`"},
    422: {"model": ErrorResponse, "description": "Valid JSON with invalid fields; `detail` says what to fix"},
    503: {"model": ErrorResponse, "description": "No index yet (run `footnote ingest`) or it cannot be loaded"},
}
# Under /v1/: OpenAI's shape, and 400 for every invalid request.
OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OpenAIErrorResponse, "description": "Invalid request (not JSON, invalid fields, bad Host)"},
    401: {"model": OpenAIErrorResponse, "description": "FOOTNOTE_API_KEY is set and the key is missing or wrong"},
    404: {"model": OpenAIErrorResponse, "description": "Unknown model"},
    413: {"model": OpenAIErrorResponse, "description": "The body is over FOOTNOTE_MAX_BODY_KB"},
    415: {"model": OpenAIErrorResponse, "description": "The body is not `application/json`"},
    503: {"model": OpenAIErrorResponse, "description": "No index yet (run `footnote ingest`) or it cannot be loaded"},
}
# Any route, even /healthz: a Host header this server does not answer to.
HOST_ERROR: dict[int | str, dict[str, Any]] = {400: ERROR_RESPONSES[400]}

_STATUS = ((NotFound, 404), (IndexError_, 503), (InputError, 422), (UploadTooLarge, 413),
           (UnsupportedUpload, 415), (ReadOnlyDocument, 409), (WritesRefused, 403))


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


def _body(path: str, status: int, message: str, param: str | None = None,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    if path.startswith("/v1/"):
        kind = {401: "authentication_error", 404: "not_found_error", 503: "service_unavailable"}.get(
            status, "invalid_request_error" if status < 500 else "server_error"
        )
        return {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return {"detail": message, **(extra or {})}


def error_response(scope: Scope, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error response for a request that never reached its route (``service.guard``)."""
    return JSONResponse(status_code=status, content=_body(scope["path"], status, message), headers=headers)


def _parse_error(exc: Exception | None) -> str:
    """What was wrong with a body FastAPI could not parse (it says only "There was an error parsing the body")."""
    if isinstance(exc, UnicodeDecodeError):
        return f"the body is not valid JSON: it is not UTF-8 (at byte {exc.start})"
    if isinstance(exc, RecursionError):
        return "the body is not valid JSON: it is nested too deeply"
    return "the body is not valid JSON"


def allowed_methods(request: Request) -> str:
    """Every method some route of ``request``'s path answers (``GET /documents`` and ``POST /documents`` live in
    two routers), for the ``Allow`` header of a 405."""
    from starlette.routing import Match

    # Asked method by method: included routers match as a whole, and only a full match names a method.
    return ", ".join(method for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
                     if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                            for route in request.app.router.routes))


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = describe_validation(exc)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                  for e in exc.errors()[:20]]
        # OpenAI answers invalid requests with 400, and its SDKs raise BadRequestError on it; elsewhere a body
        # that is not JSON at all is 400 and valid JSON with invalid fields 422.
        not_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        status = 400 if not_json or request.url.path.startswith("/v1/") else 422
        body = _body(request.url.path, status, message, field, {"errors": errors})
        return JSONResponse(status_code=status, content=body)

    @app.exception_handler(FootnoteError)
    async def _domain(request: Request, exc: FootnoteError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse(status_code=status, content=_body(request.url.path, status, str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = _parse_error(exc.__cause__ if isinstance(exc.__cause__, Exception) else None)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # the router names only the first route on the path: name them all
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(status_code=exc.status_code, content=_body(request.url.path, exc.status_code, detail),
                            headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content=_body(request.url.path, 500, "internal error: see the server log"))

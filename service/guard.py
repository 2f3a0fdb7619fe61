"""The checks every request passes before a route reads its body, in this order:

1. **Host** (400): the ``Host`` header must name this server (FOOTNOTE_ALLOWED_HOSTS). A request that
   arrives over loopback must name a loopback host unless the setting says otherwise, so a web page
   cannot reach a local server through DNS rebinding (its Host is the attacker's name).
2. **Routing** (404, 405): an unknown path or method gets the router's own answer; nothing below runs.
3. **API key** (401), for routes that need it when FOOTNOTE_API_KEY is set: before any body is read.
4. **Content type** (415): a route that takes JSON accepts only ``application/json``.
5. **Body size** (413): over the route's limit (FOOTNOTE_MAX_BODY_KB, or a larger one a route registers in
   ``body_limits``), refused from ``Content-Length`` before reading, or as soon as the streamed bytes pass it.

Then the route parses the body: invalid JSON is 400, invalid fields 422 (``service.errors``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import HTTPException, params
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footnote.service.deps import MISSING_KEY, key_matches, require_api_key
from footnote.service.errors import error_response
from footnote.settings import Settings

_BODY_METHODS = ("POST", "PUT", "PATCH")


@dataclass(frozen=True)
class BodyLimit:
    """At most ``bytes`` per request body; ``setting`` names the knob that sets it, for the 413 message."""

    bytes: int
    setting: str

    def message(self) -> str:
        return f"the request body is over the limit of {self.bytes:,} bytes ({self.setting})"


def default_body_limit(settings: Settings) -> BodyLimit:
    return BodyLimit(settings.max_body_kb * 1024, f"FOOTNOTE_MAX_BODY_KB={settings.max_body_kb}")


class _Refused(HTTPException):
    """Raised from the guarded ``receive``: FastAPI's body reader re-raises HTTPException unchanged."""


def host_name(header: str) -> str:
    """The host of a ``Host`` header, without port or IPv6 brackets, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, allowed: list[str] | None, server_host: str | None) -> bool:
    """Whether ``host`` may be served: the configured names, else loopback names on a loopback connection."""
    if allowed is None:
        if server_host is None or not _is_loopback(server_host):
            return True
        return _is_loopback(host)
    for name in allowed:
        name = name.strip().lower()
        if name == "*" or name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


class RequestGuard:
    """ASGI middleware applying the checks above, in that order, with the app's settings.

    The Host check runs first. The others need the route, so they run when the route first reads the body:
    the router has then matched (an unknown path or method never gets here) and stored the route in the
    scope, and nothing has been read yet. A route that reads no body (a GET) checks its key in
    ``deps.require_api_key``.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, body_limits: Mapping[str, BodyLimit] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.default_limit = default_body_limit(settings)
        # Route path templates ("/documents") that take more than the default (uploads).
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        server = scope.get("server")
        if not host_allowed(host, self.settings.allowed_hosts, server[0] if server else None):
            message = (f"this server does not answer to the host {host!r}: "
                       "add it to FOOTNOTE_ALLOWED_HOSTS (comma-separated names) to allow it")
            await error_response(scope, 400, message)(scope, receive, send)
            return
        await self.app(scope, self._guarded(scope, headers, receive), send)

    def _guarded(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive) -> Receive:
        """``receive``, checking key, content type and size before the first byte, and counting after."""
        limit: BodyLimit | None = None
        seen = 0

        async def guarded() -> Message:
            nonlocal limit, seen
            if limit is None:
                limit = self._check(scope, headers)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit.bytes:
                    raise _Refused(status_code=413, detail=limit.message())
            return message

        return guarded

    def _check(self, scope: Scope, headers: dict[bytes, bytes]) -> BodyLimit:
        """Refuse (raising HTTPException, which FastAPI passes to the handlers) or return the body's limit."""
        route = scope.get("route")
        if not isinstance(route, APIRoute):
            return self.default_limit
        if self.settings.api_key and _needs_key(route) and not key_matches(
            self.settings.api_key, headers.get(b"authorization")
        ):
            raise _Refused(status_code=401, detail=MISSING_KEY, headers={"WWW-Authenticate": "Bearer"})
        if scope["method"] in _BODY_METHODS and _takes_json(route):
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json":
                got = ctype.decode("latin-1") or "none"
                raise _Refused(status_code=415,
                               detail=f"send the body as JSON with `Content-Type: application/json` (got {got})")
        limit = self.body_limits.get(route.path, self.default_limit)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit.bytes:
            raise _Refused(status_code=413, detail=limit.message())
        return limit


def _needs_key(route: APIRoute) -> bool:
    return any(dep.dependency is require_api_key for dep in route.dependencies)


def _takes_json(route: APIRoute) -> bool:
    field = route.body_field
    return field is not None and not isinstance(getattr(field, "field_info", None), params.Form)

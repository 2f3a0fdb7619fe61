"""Shared request dependencies, as ``Annotated`` aliases routes can name in their signatures.

They are ``async def``: none of them blocks (a lock held for a lookup at most), and FastAPI runs a plain
``def`` dependency in its thread pool, one thread hop each, several per request.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from footnote.errors import WritesRefused
from footnote.index.load import Index
from footnote.service.answering.answerer import Answerer
from footnote.service.jobs import JobRunner
from footnote.service.state import IndexHolder
from footnote.settings import Settings

MISSING_KEY = "missing or wrong API key: send `Authorization: Bearer <FOOTNOTE_API_KEY>`"
_bearer = HTTPBearer(auto_error=False, description="Required when FOOTNOTE_API_KEY is set.")


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> IndexHolder:
    holder: IndexHolder = request.app.state.holder
    return holder


async def get_index(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Index:
    return holder.index()


async def get_answerer(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Answerer:
    return holder.answerer()


def key_matches(expected: str, authorization: bytes | str | None) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <expected>``, compared as bytes in constant time.

    Header values arrive as bytes (Starlette decodes them as Latin-1), so any token, ASCII or not, is a
    plain mismatch, never an error; a non-ASCII key matches when sent as UTF-8.
    """
    if authorization is None:
        return False
    raw = authorization.encode("latin-1") if isinstance(authorization, str) else authorization
    scheme, _, token = raw.strip().partition(b" ")
    return scheme.lower() == b"bearer" and secrets.compare_digest(token.strip(), expected.encode("utf-8"))


async def require_api_key(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """When FOOTNOTE_API_KEY is set, every non-health endpoint needs ``Authorization: Bearer <key>``."""
    _check_key(settings, credentials)


def _check_key(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    if not settings.api_key:
        return
    # service.guard checks the same before the body is read; this keeps the route safe on its own.
    given = None if credentials is None else f"{credentials.scheme} {credentials.credentials}"
    if not key_matches(settings.api_key, given):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=MISSING_KEY,
            headers={"WWW-Authenticate": "Bearer"},
        )


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


async def get_jobs(request: Request) -> JobRunner:
    jobs: JobRunner = request.app.state.jobs
    return jobs


async def require_write_access(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings_dep)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Uploads and deletes: the API key when one is set; without one, only a server listening on localhost
    takes them, and only from its own pages (a cross-site form post must not add documents)."""
    if settings.api_key:
        _check_key(settings, credentials)
        return
    host = settings.host  # the address `footnote serve` binds
    if host not in LOOPBACK and not host.startswith("127."):
        raise WritesRefused(
            f"uploads and deletes are off: this server listens on {host} and FOOTNOTE_API_KEY is not set; "
            "set FOOTNOTE_API_KEY (and send `Authorization: Bearer <key>`) or listen on 127.0.0.1")
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise WritesRefused(f"cross-site request from {origin} refused: upload from this server's own page")


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
IndexDep = Annotated[Index, Depends(get_index)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
ApiKey = Depends(require_api_key)
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
WriteAccess = Depends(require_write_access)

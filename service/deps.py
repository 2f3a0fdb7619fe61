"""Shared request dependencies, as ``Annotated`` aliases routes can name in their signatures."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from footnote.service.answer import Answerer
from footnote.service.state import IndexHolder
from footnote.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Required when FOOTNOTE_API_KEY is set.")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_holder(request: Request) -> IndexHolder:
    holder: IndexHolder = request.app.state.holder
    return holder


def get_answerer(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Answerer:
    return holder.answerer()


def require_api_key(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """When FOOTNOTE_API_KEY is set, every non-health endpoint needs ``Authorization: Bearer <key>``."""
    if not settings.api_key:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials, settings.api_key):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API key: send `Authorization: Bearer <FOOTNOTE_API_KEY>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
ApiKey = Depends(require_api_key)

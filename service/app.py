"""Builds the FastAPI app: settings, the hot-swappable index, error handling, and the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from footnote import __version__
from footnote.index.vectors import choose_store
from footnote.service import errors
from footnote.service.routes import answer, documents, health, search
from footnote.service.state import IndexHolder
from footnote.settings import Settings

DESCRIPTION = """
Footnote answers questions about your documents with **verbatim quotes and numbered footnotes**.
Every quote equals `document.text[start:end]` (see `GET /documents/{doc_id}`), and each footnote carries
the document's own citations (its footnotes/endnotes, with URLs) for the quoted sentence.

When `FOOTNOTE_API_KEY` is set, every endpoint except `/healthz` and `/readyz` requires
`Authorization: Bearer <key>`. Errors are JSON: `{"detail": "what to fix"}` (OpenAI's error shape under `/v1/`).
"""


def create_app(index_dir: Path | None = None, settings: Settings | None = None,
               poll_seconds: float = 1.0) -> FastAPI:
    """The app for one index folder; the index loads at start-up and is swapped when it changes.

    ``settings`` (default: read from the environment now) hold every knob, request limits included.
    """
    settings = settings or Settings()
    holder = IndexHolder(Path(index_dir or settings.index_dir), model_path=settings.model_path,
                         embed_batch_size=settings.embed_batch_size, answer=settings.answer(),
                         fusion=settings.fusion(), store=choose_store(settings.store, settings.milvus_uri),
                         poll_seconds=poll_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("footnote.service").setLevel(logging.INFO)
        holder.start()
        try:
            yield
        finally:
            holder.stop()

    app = FastAPI(title="Footnote", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.holder = holder
    errors.install(app)
    for module in (health, answer, search, documents):
        app.include_router(module.router)
    _include_optional(app)
    return app


def _include_optional(app: FastAPI) -> None:
    """The chat page and the OpenAI-compatible API, when their modules are present."""
    import importlib

    for name in ("footnote.service.routes.openai", "footnote.service.routes.chat"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router)

"""Builds the FastAPI app: settings, the hot-swappable index, error handling, and the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.routing import Route

from footnote import __version__
from footnote.index.hybrid import fusion_from_settings
from footnote.index.vectors import choose_store
from footnote.service import errors, schema
from footnote.service.answering.answerer import AnswerSettings
from footnote.service.guard import BodyLimit, RequestGuard
from footnote.service.jobs import JobRunner
from footnote.service.mcp_server import PATH as MCP_PATH
from footnote.service.mcp_server import HttpEndpoint
from footnote.service.render import Renderer
from footnote.service.routes import answer, docs, documents, health, pages, search, uploads
from footnote.service.state import IndexHolder
from footnote.service.watch import CorpusWatcher
from footnote.settings import Settings

DESCRIPTION = """
Footnote answers questions about your documents with **verbatim quotes and numbered footnotes**.
Every quote equals `document.text[start:end]` (see `GET /documents/{doc_id}`), and each footnote carries
the document's own citations (its footnotes/endnotes, with URLs) for the quoted sentence.

When `FOOTNOTE_API_KEY` is set, every endpoint except `/healthz`, `/readyz`, the chat page and these docs
requires `Authorization: Bearer <key>`. Errors are JSON: `{"detail": "what to fix"}`; under `/v1/` they take
OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, and every invalid request there is 400.
Checks run in this order: Host header (400), path and method (404, 405), API key (401), content type (415),
body size (413, over `FOOTNOTE_MAX_BODY_KB`), JSON syntax (400), fields (422).
Uploads and deletes (`POST /documents`, `DELETE /documents/{doc_id}`) need that key, or, without one, a
server listening on localhost; an upload's body may be up to `FOOTNOTE_MAX_UPLOAD_MB`.
"""


def create_app(index_dir: Path | None = None, settings: Settings | None = None,
               poll_seconds: float = 1.0) -> FastAPI:
    """The app for one index folder; the index loads at start-up and is swapped when it changes.

    ``settings`` (default: read from the environment now) hold every knob, request limits included.
    """
    settings = settings or Settings()
    holder = IndexHolder(Path(index_dir or settings.index_dir), model_path=settings.model_path,
                         embed_batch_size=settings.embed_batch_size,
                         query_runtime=settings.query_runtime, answer=AnswerSettings.from_settings(settings),
                         fusion=fusion_from_settings(settings), store=choose_store(settings.store, settings.milvus_uri),
                         poll_seconds=poll_seconds)
    jobs = JobRunner(holder, settings)
    renderer = Renderer()  # PDF page renders (service.render), bounded and cached
    jobs.on_removed = renderer.forget  # a deleted document's renders go with it
    watcher = CorpusWatcher(jobs, settings.watch_debounce_ms) if settings.watch else None  # serve --watch
    mcp = HttpEndpoint(holder, settings)  # the MCP tools over the same index, at /mcp

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("footnote.service").setLevel(logging.INFO)
        holder.start()
        jobs.start()
        if watcher is not None:
            watcher.start()
        try:
            async with mcp.running():
                yield
        finally:
            if watcher is not None:
                watcher.stop()
            jobs.stop()
            holder.stop()
            renderer.close()

    # The docs are served offline by routes.docs, not from FastAPI's CDN-backed pages.
    app = FastAPI(title="Footnote", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.holder = holder
    app.state.jobs = jobs
    app.state.renderer = renderer
    errors.install(app)
    for module in (health, answer, search, documents, pages, uploads, docs):
        app.include_router(module.router)
    _include_optional(app)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp, include_in_schema=False))  # an ASGI app: any method
    app.add_middleware(RequestGuard, settings=settings, body_limits=body_limits(settings))
    schema.install(app, settings)
    return app


def body_limits(settings: Settings) -> dict[str, BodyLimit]:
    """Routes whose bodies may be larger than FOOTNOTE_MAX_BODY_KB, by path template (uploads)."""
    return {"/documents": uploads.body_limit(settings)}


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

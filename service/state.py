"""The index the service answers from, swapped atomically when `footnote ingest` writes a new version.

A watcher thread polls the index folder's version (a cheap stat) and, when it changes, loads the new
version completely (reusing the already-loaded embedding model) before swapping one reference. A
request holds the ``Index`` or ``Answerer`` it started with, so it never sees a half-built index.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from footnote.errors import IndexError_, IndexMissing
from footnote.service.answering.answerer import Answerer, AnswerSettings

if TYPE_CHECKING:
    from footnote.index.embed import Embedder, QueryRuntime
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import Index
    from footnote.index.vectors import VectorStore

log = logging.getLogger("footnote.service")


class IndexHolder:
    def __init__(self, index_dir: Path, *, model_path: str | Path | None = None, embed_batch_size: int = 64,
                 query_runtime: QueryRuntime = "onnx", answer: AnswerSettings | None = None,
                 fusion: FusionParams | None = None, store: VectorStore | None = None,
                 poll_seconds: float = 1.0) -> None:
        self.index_dir = Path(index_dir)
        self.poll_seconds = poll_seconds
        self._model_path = model_path
        self._batch_size = embed_batch_size
        self._query_runtime: QueryRuntime = query_runtime
        self._answer_settings = answer or AnswerSettings()
        self._fusion = fusion
        self._store = store
        self._answerer: Answerer | None = None
        self._error: IndexError_ | None = None
        self._version: str | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()  # the watcher and an upload job may both refresh
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._embedder: Embedder | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="footnote-index-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # a watcher that dies silently would freeze the index forever
                log.exception("index refresh failed; still serving version %s", self._version)

    def refresh(self) -> bool:
        """Load the index if its version changed; True when a new one was swapped in."""
        with self._refresh_lock:
            return self._refresh()

    def _refresh(self) -> bool:
        from footnote.index.embed import get_embedder
        from footnote.index.load import current_version, load

        version = current_version(self.index_dir)
        if version is not None and version == self._version and self._answerer is not None:
            return False
        if version is None:
            if self._answerer is None:
                self._error = IndexMissing(
                    f"no index at {self.index_dir}: run `footnote ingest` to build one"
                )
            return False
        try:
            if self._embedder is None:
                embedder = get_embedder(self._model_path, self._batch_size, self._query_runtime)
                # Compiled before the server says it is ready, so the first question is not the slow one.
                log.info("queries are embedded on %s", embedder.prepare_queries())
                self._embedder = embedder
            index = load(self.index_dir, embedder=self._embedder, fusion=self._fusion, store=self._store)
            answerer = Answerer(index, self._answer_settings)
        except IndexError_ as exc:
            if self._answerer is None:
                self._error = exc
            log.warning("cannot load index version %s: %s", version, exc)
            return False
        with self._lock:
            self._answerer, self._version, self._error = answerer, index.version, None
        log.info("serving index version %s (%d passages)", index.version, len(index.passages))
        return True

    # -- access -------------------------------------------------------------------------------------

    def index(self) -> Index:
        """The current index, or the error that says why there is none."""
        return self.answerer().index

    def answerer(self) -> Answerer:
        """The current answerer, or the error that says why there is none."""
        with self._lock:
            if self._answerer is not None:
                return self._answerer
            raise self._error or IndexMissing(
                f"no index at {self.index_dir}: run `footnote ingest` to build one"
            )

    @property
    def version(self) -> str | None:
        return self._version

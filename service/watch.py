"""``footnote serve --watch``: the corpus folder stays in sync with the index being served.

A thread watches the folders the index is built from (``JobRunner.watched_folders``: the paths the last ingest
was given, else ``FOOTNOTE_CORPUS_DIR``) with ``watchfiles``. Changes are debounced (``FOOTNOTE_WATCH_DEBOUNCE_MS``
of quiet), then held until the changed files' sizes stop changing (a partial write, a slow copy), then queued
as one ``sync`` job on the same queue as uploads: the ordinary incremental ingest runs, the new index is
swapped in, and the job (``GET /jobs``) lists each file as ingested, removed, or skipped with its reason. A
file that no longer parses keeps its previous version in the index.

An editor's temporary files are ignored: hidden names (``.#x``, ``.x.swp``), ``x~``, ``x.swp``, ``x.tmp``,
``x.part``, vim's ``4913`` probe, Office's ``~$x`` lock, and any format ingest does not read.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchfiles import Change

    from footnote.service.jobs import JobRunner

log = logging.getLogger("footnote.service")

_TEMPORARY = re.compile(r"(~|\.sw[a-p]|\.tmp|\.temp|\.part|\.partial|\.crdownload|\.bak|\.orig)$", re.IGNORECASE)
SETTLE_STEP = 0.25  # seconds between two looks at a changed file's size
SETTLE_LIMIT = 30.0  # a file still growing after this long is ingested as it is then


def ignored(path: Path, roots: list[Path]) -> bool:
    """Whether a change to ``path`` is none of the index's business: an editor's temporary file, a hidden
    entry (below a watched folder), or a format ingest does not read."""
    from footnote.ingest.loaders import FORMATS

    name = path.name
    if name.startswith((".", "~$")) or name == "4913" or _TEMPORARY.search(name):
        return True
    for root in roots:
        if path.is_relative_to(root) and any(part.startswith(".") for part in path.relative_to(root).parts):
            return True
    return path.suffix.lower() not in FORMATS


class CorpusWatcher:
    """Watches the corpus folders and queues a ``sync`` job for each settled batch of changes."""

    def __init__(self, jobs: JobRunner, debounce_ms: int = 500) -> None:
        self.jobs = jobs
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.roots: list[Path] = []

    def start(self) -> None:
        self.roots = [Path(p).resolve() for p in self.jobs.watched_folders()]
        if not self.roots:
            log.warning("--watch: no corpus folder to watch (the index names none that exists)")
            return
        log.info("watching %s for changes", ", ".join(str(p) for p in self.roots))
        self._thread = threading.Thread(target=self._run, name="footnote-corpus-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _wanted(self, change: Change, path: str) -> bool:
        return not ignored(Path(path), self.roots)

    def _run(self) -> None:
        from watchfiles import watch

        while not self._stop.is_set():
            try:
                for changes in watch(*self.roots, watch_filter=self._wanted, step=self.debounce_ms,
                                     debounce=max(1600, 4 * self.debounce_ms), stop_event=self._stop,
                                     raise_interrupt=False, rust_timeout=1000, yield_on_timeout=False):
                    self._settle({Path(path) for _change, path in changes})
                    if self._stop.is_set():
                        return
                    self.changed({Path(path) for _change, path in changes})
            except Exception:  # the watcher must outlive a vanished folder or a failed submit
                log.exception("watching the corpus folder failed; retrying")
                self._stop.wait(2.0)

    def changed(self, paths: set[Path]) -> None:
        """Queue one sync job for ``paths`` (changed, added or deleted files)."""
        names = sorted({self._name(path) for path in paths if not ignored(path, self.roots)})
        if names:
            job = self.jobs.submit_sync(names)
            log.info("corpus changed (%s): sync job %s", ", ".join(names), job.id)

    def _name(self, path: Path) -> str:
        for root in self.roots:
            if root.is_dir() and path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return path.name

    def _settle(self, paths: set[Path]) -> None:
        """Wait until no changed file's size (and modification time) changes any more: a partial write."""
        waited = 0.0
        before = _sizes(paths)
        while waited < SETTLE_LIMIT and not self._stop.wait(SETTLE_STEP):
            waited += SETTLE_STEP
            now = _sizes(paths)
            if now == before:
                return
            before = now


def _sizes(paths: set[Path]) -> dict[Path, tuple[int, int]]:
    sizes: dict[Path, tuple[int, int]] = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        sizes[path] = (stat.st_size, stat.st_mtime_ns)
    return sizes

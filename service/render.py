"""PNG renders of PDF pages, with a quote's glyph boxes drawn as a translucent highlight.

Bounded on every side:

- **pixels**: the long side of a render is at most ``MAX_SIDE_PX`` and the zoom at most ``MAX_SCALE`` (a US
  Letter page renders at 1224 x 1584), whatever the page's declared size;
- **time**: a request waits at most ``RENDER_SECONDS`` for its render, then gets 503 (a render that has not
  started is cancelled; one that has runs on, holding its slot);
- **concurrency**: renders run on ``WORKERS`` threads, and at most ``WAITING`` more wait for one; past that
  a request waits up to ``SLOT_SECONDS`` for a slot, then gets 429 with ``Retry-After``;
- **memory**: finished renders are kept in an LRU cache of at most ``CACHE_BYTES``, keyed by (document
  sha256, page, boxes drawn), so the same page of the same file renders once; a deleted document's renders
  are dropped (``Renderer.forget``), and a changed file has another sha256, so a stale render is never served.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from footnote.index.pages import Box

MAX_SIDE_PX = 2000
MAX_SCALE = 2.0
RENDER_SECONDS = 10.0
SLOT_SECONDS = 5.0
WORKERS = 1  # PyMuPDF is not thread-safe, and holds the GIL while it renders: more threads would not help
WAITING = 4
CACHE_BYTES = 64 * 1024 * 1024
HIGHLIGHT = (1.0, 0.82, 0.0)  # the fill of a highlighted line: a marker's yellow
OPACITY = 0.4

Key = tuple[str, int, tuple[tuple[float, float, float, float], ...]]


@dataclass(frozen=True)
class Rendered:
    """One page as PNG: its size in pixels, the document's page count and the union of the drawn boxes in
    pixels (x0, y0, x1, y1; None when nothing is highlighted on this page)."""

    png: bytes
    width: int
    height: int
    page_count: int
    highlight: tuple[int, int, int, int] | None


class PageOutOfRange(Exception):
    def __init__(self, page: int, page_count: int) -> None:
        super().__init__(f"page {page} is out of range: the document has {page_count} "
                         f"page{'s' if page_count != 1 else ''} (1 to {page_count})")
        self.page_count = page_count


class RenderBusy(Exception):
    """Every render slot is taken: try again shortly."""


class RenderTimeout(Exception):
    """The render took longer than ``RENDER_SECONDS``."""


class Renderer:
    """Renders pages on its own worker threads with the bounds above; one per app."""

    def __init__(self, *, workers: int = WORKERS, waiting: int = WAITING, seconds: float = RENDER_SECONDS,
                 slot_seconds: float = SLOT_SECONDS, cache_bytes: int = CACHE_BYTES) -> None:
        self.seconds = seconds
        self.slot_seconds = slot_seconds
        self.cache_bytes = cache_bytes
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="footnote-render")
        self._slots = threading.BoundedSemaphore(workers + waiting)
        self._cache: OrderedDict[Key, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def cached(self, sha256: str, page: int, boxes: list[Box]) -> Rendered | None:
        key = _key(sha256, page, boxes)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def render(self, sha256: str, raw: bytes, page: int, boxes: list[Box]) -> Rendered:
        """Page ``page`` (1-based) of the PDF ``raw`` (whose sha256 is ``sha256``) with ``boxes`` (those on
        this page) highlighted. ``PageOutOfRange``, ``RenderBusy``, ``RenderTimeout``."""
        found = self.cached(sha256, page, boxes)
        if found is not None:
            return found
        if not self._slots.acquire(timeout=self.slot_seconds):
            raise RenderBusy("too many page renders at once: try again in a few seconds")
        try:
            future = self._executor.submit(draw, raw, page, boxes)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        try:
            rendered = future.result(timeout=self.seconds)
        except (FutureTimeout, CancelledError):
            future.cancel()
            raise RenderTimeout(f"rendering page {page} took longer than {self.seconds:g} s") from None
        self._keep(_key(sha256, page, boxes), rendered)
        return rendered

    def _keep(self, key: Key, rendered: Rendered) -> None:
        size = len(rendered.png)
        if size > self.cache_bytes:
            return
        with self._lock:
            old = self._cache.pop(key, None)
            if old is not None:
                self._bytes -= len(old.png)
            self._cache[key] = rendered
            self._bytes += size
            while self._bytes > self.cache_bytes:
                _, dropped = self._cache.popitem(last=False)
                self._bytes -= len(dropped.png)

    def forget(self, sha256: str) -> int:
        """Drop the renders of the file with ``sha256`` (its document was deleted); returns how many."""
        with self._lock:
            gone = [k for k in self._cache if k[0] == sha256]
            for key in gone:
                self._bytes -= len(self._cache.pop(key).png)
        return len(gone)

    def cache_size(self) -> tuple[int, int]:
        """(renders, bytes) held in the cache."""
        with self._lock:
            return len(self._cache), self._bytes

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _key(sha256: str, page: int, boxes: list[Box]) -> Key:
    return sha256, page, tuple((b.x0, b.y0, b.x1, b.y1) for b in boxes if b.page == page)


def scale_for(width: float, height: float) -> float:
    """The zoom of a page of ``width`` x ``height`` points: at most ``MAX_SCALE``, and at most
    ``MAX_SIDE_PX`` pixels on the long side."""
    return min(MAX_SCALE, MAX_SIDE_PX / max(width, height, 1.0))


def draw(raw: bytes, page_no: int, boxes: list[Box]) -> Rendered:
    """Render one page of the PDF ``raw`` with the boxes on it filled in translucent yellow."""
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    doc: Any = pymupdf.open(stream=raw, filetype="pdf")
    try:
        if not 1 <= page_no <= doc.page_count:
            raise PageOutOfRange(page_no, doc.page_count)
        page = doc[page_no - 1]
        scale = scale_for(page.rect.width, page.rect.height)
        zoom = pymupdf.Matrix(scale, scale)
        union = None
        for box in boxes:
            if box.page != page_no:
                continue
            rect = pymupdf.Rect(box.x0, box.y0, box.x1, box.y1)
            page.draw_rect(rect, color=None, fill=HIGHLIGHT, fill_opacity=OPACITY, overlay=True)
            union = rect if union is None else union | rect
        pix = page.get_pixmap(matrix=zoom, alpha=False)
        highlight = None
        if union is not None:
            shown = union * page.rotation_matrix * zoom
            highlight = (int(shown.x0), int(shown.y0), int(shown.x1 + 0.999), int(shown.y1 + 0.999))
        return Rendered(png=pix.tobytes("png"), width=int(pix.width), height=int(pix.height),
                        page_count=int(doc.page_count), highlight=highlight)
    finally:
        doc.close()

"""Where a PDF document's clean text stands on its pages: a map from character offsets to glyph boxes.

Ingest aligns the clean text with the words on the pages (``ingest.pages.align``) and the index keeps one
plain JSON file per PDF, named by the file's sha256, in a folder beside the index versions::

    .footnote/index.pages/<sha256>.json   {"format": 1, "pages": N, "sizes": [[w, h], ...],
                                           "words": [[start, end, page, x0, y0, x1, y1], ...]}

``words`` are sorted by ``start``; ``page`` is 1-based and boxes are in PDF points (origin top left, as
PyMuPDF gives them). Files are read only when a footnote needs them and kept in a small cache, so a corpus
of PDFs costs no memory per request.
"""

from __future__ import annotations

import json
import os
import tempfile
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

FORMAT = 1
_CACHE_SIZE = 32


@dataclass(frozen=True)
class Box:
    """A rectangle on one page: ``page`` 1-based, coordinates in PDF points from the top left."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page, "x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1}


class PageMap:
    """The words of one PDF with their offsets in the clean text and their boxes."""

    def __init__(self, data: dict[str, Any]) -> None:
        words = data.get("words") or []
        self.page_count = int(data.get("pages", 0))
        self._starts = [int(w[0]) for w in words]
        self._ends = [int(w[1]) for w in words]
        self._words = words

    def _between(self, start: int, end: int) -> list[list[Any]]:
        """The words that overlap ``[start, end)``."""
        lo = bisect_right(self._ends, start)  # ends are sorted with starts: words do not overlap
        hi = bisect_left(self._starts, end)
        return self._words[lo:hi]

    def pages(self, start: int, end: int) -> list[int]:
        """The 1-based pages the span ``[start, end)`` is printed on, in order."""
        return sorted({int(w[2]) for w in self._between(start, end)})

    def boxes(self, start: int, end: int) -> list[Box]:
        """One box per printed line the span covers: the union of its words on that line."""
        out: list[Box] = []
        for word in self._between(start, end):
            page, x0, y0, x1, y1 = int(word[2]), *map(float, word[3:7])
            last = out[-1] if out else None
            same_line = last is not None and last.page == page and abs(last.y0 - y0) < 2 and abs(last.y1 - y1) < 2
            if last is not None and same_line and x0 >= last.x0 - 1:
                out[-1] = Box(page, min(last.x0, x0), min(last.y0, y0), max(last.x1, x1), max(last.y1, y1))
            else:
                out.append(Box(page, x0, y0, x1, y1))
        return [Box(b.page, round(b.x0, 2), round(b.y0, 2), round(b.x1, 2), round(b.y1, 2)) for b in out]


def pages_dir(index_dir: str | Path) -> Path:
    """The folder of page maps that belongs to ``index_dir`` (beside its versions and uploads)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.pages"


def write(index_dir: str | Path, sha256: str, data: dict[str, Any]) -> None:
    """Write one document's page map atomically (a reader never sees half a file)."""
    folder = pages_dir(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": FORMAT, **data}, fh, separators=(",", ":"))
        os.replace(tmp, folder / f"{sha256}.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keep_only(index_dir: str | Path, shas: set[str]) -> None:
    """Remove the page maps of documents no kept version holds."""
    folder = pages_dir(index_dir)
    if not folder.is_dir():
        return
    for path in folder.glob("*.json"):
        if path.stem not in shas:
            path.unlink(missing_ok=True)


_cache: OrderedDict[tuple[str, str], PageMap] = OrderedDict()
_lock = Lock()


def load(index_dir: str | Path, sha256: str) -> PageMap | None:
    """The page map of the document whose file has ``sha256``, or None (not a PDF, or built before page
    maps existed). Cached: the last few maps read stay in memory."""
    key = (str(Path(index_dir)), sha256)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    found: PageMap | None
    path = pages_dir(index_dir) / f"{sha256}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = PageMap(data) if data.get("format") == FORMAT else None
    except (OSError, ValueError):
        found = None
    if found is not None:  # a missing map may be written by the next ingest: not cached
        with _lock:
            _cache[key] = found
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return found

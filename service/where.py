"""Where a quote stands in its document: pages and glyph boxes for PDFs, a heading anchor for every document.

``anchor_of`` gives the nearest heading's anchor (the API's ``anchor`` field and the chat page's document
view): the document's own where it has one (an HTML element id, kept at ingest), else ``anchor_slug``, the one
slug rule of heading anchors: the heading lower-cased (``str.casefold``), accents kept, every run of
characters that are not letters or digits turned into one ``-``, and ``-`` trimmed from both ends; a heading
with no letter or digit gives ``None``. ``"2.1 Front-end (FEOL)"`` -> ``"2-1-front-end-feol"``,
``"Économie"`` -> ``"économie"``.

``locate`` reads the document's page map (``index.pages``: written at ingest for PDFs, read lazily and kept
in a small cache) only when a PDF is quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from footnote.index.pages import Box, PageMap, load

if TYPE_CHECKING:
    from footnote.index.load import Index
    from footnote.ingest.models import Document

_NOT_WORD = re.compile(r"[\W_]+")


def anchor_slug(heading: str) -> str | None:
    """The stable anchor of a heading (module docstring), or None when it has no letter or digit."""
    return _NOT_WORD.sub("-", heading.casefold()).strip("-") or None


def anchor_of(section: tuple[str, ...] | list[str], document: Document | None = None,
              start: int | None = None) -> str | None:
    """The anchor of the nearest heading: the document's own (an HTML page's element id) where it has one
    for the section that holds ``start``, else the slug of the last element of the section path."""
    if document is not None and start is not None:
        for held in document.sections:
            if held.start <= start < held.end and list(held.path) == list(section):
                if held.anchor:
                    return held.anchor
                break
    return anchor_slug(section[-1]) if section else None


@dataclass(frozen=True)
class Where:
    """``page``: the first page (1-based) or None; ``pages``: every page the span is printed on; ``boxes``:
    one per printed line (PDF only); ``anchor``: the nearest heading's slug."""

    page: int | None = None
    pages: list[int] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    anchor: str | None = None


def page_map(index: Index, document: Document) -> PageMap | None:
    """The PDF's page map, or None (another format, or an index built before page maps)."""
    if document.format != "pdf":
        return None
    return load(index.index_dir, document.sha256)


def locate(pages: PageMap | None, section: tuple[str, ...] | list[str], start: int, end: int, *,
           boxes: bool = True, document: Document | None = None) -> Where:
    """Where ``[start, end)`` stands: pages (and boxes, unless ``boxes`` is False) from ``pages``; the
    anchor from ``document``'s own headings where it has them."""
    anchor = anchor_of(section, document, start)
    if pages is None:
        return Where(anchor=anchor)
    on = pages.pages(start, end)
    return Where(page=on[0] if on else None, pages=on, boxes=pages.boxes(start, end) if boxes else [],
                 anchor=anchor)

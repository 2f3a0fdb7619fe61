"""The intermediate form every loader produces: a flat list of blocks of raw inline text.

Loaders only say what each block is (title, heading, paragraph, list item, or plain text whose role is
not known yet) and where a footnote marker stands. Everything after that (footnote definitions, cleaning,
heading inference, offsets) is shared, so all formats behave the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A footnote marker found by a loader (HTML <sup>, docx footnoteReference, PDF superscript span) is
# written inline as MARK_OPEN + marker + MARK_CLOSE; private-use code points never occur in real text.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"


def mark(marker: str) -> str:
    return f"{MARK_OPEN}{marker}{MARK_CLOSE}"


def table_row(headers: list[str], cells: list[str]) -> str:
    """One table row as a line that names its columns: ``Header: cell; Header: cell``.

    Empty cells are left out; a cell without a header (or whose header is itself) stands alone. Line
    breaks inside a cell become spaces, so a row stays one line.
    """
    parts: list[str] = []
    for k, cell in enumerate(cells):
        cell = " ".join(cell.split())
        if not cell:
            continue
        header = " ".join(headers[k].split()) if k < len(headers) else ""
        parts.append(f"{header}: {cell}" if header and header != cell else cell)
    return "; ".join(parts)


@dataclass
class Unit:
    """One block of a document.

    ``kind``: ``title``, ``heading`` (with ``level``), ``para``, ``item`` (list item, bullet removed),
    ``table``, ``code`` (one line of a code block, kept byte for byte but for trailing space), or ``text``
    (plain text: may turn out to be a heading or a footnote definition).

    A ``table`` holds one row per line, each cell preceded by its column header:
    ``Action: FCC OPS installation; Labor cost: $85; Parts cost: $6,120``, so that one row, quoted alone,
    still says what each value is (``table_row`` writes that form). A table becomes a passage of its own,
    under ``caption`` when it has one, else under the heading above it.
    """

    text: str
    kind: str = "text"
    level: int = 0
    caption: str = ""
    # A heading's own anchor in its document (an HTML element id), kept for links into the original.
    anchor: str = ""
    # Filled by cleaning: (offset in the clean ``text``, marker).
    markers: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Loaded:
    """What a loader hands back: blocks, footnote definitions it found itself, and a title hint."""

    units: list[Unit]
    notes: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    # True where headings come from markup (md ``#``, HTML, docx, PDF fonts): no guessing from text.
    marked_headings: bool = False
    # Plain text has only Unicode superscripts for markers; formats with real markup mark them
    # explicitly, and a superscript digit there is text (10⁶, m²).
    superscript_markers: bool = True
    # Pages (0-based) whose text came from OCR rather than the file's own text layer.
    ocr_pages: list[int] = field(default_factory=list)
    # PDF only: the printed lines in reading order, each (page 1-based, [(word, x0, y0, x1, y1), ...], the
    # table's text when the line is a table, else ""), and each page's (width, height), for the map from
    # clean-text offsets to boxes (ingest.pages).
    layout: list[tuple[int, list[tuple[str, float, float, float, float]], str]] = field(default_factory=list)
    page_sizes: list[tuple[float, float]] = field(default_factory=list)

"""PDF -> blocks with PyMuPDF: lines joined into paragraphs, headings from font size, superscript
spans (the span flag, or a smaller raised span) turned into footnote markers.

A line starts a new block after a vertical gap, at a change of font size (body -> footnote size),
at a bullet, or when it opens with a marker or a number (a footnote definition).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from footnote.errors import UnreadableDocument
from footnote.ingest.units import Loaded, Unit, mark

_SUPERSCRIPT_FLAG = 1
_BOLD_FLAG = 16
_BULLET = re.compile(r"^[•·▪◦‣\-–*]\s+")
_NOTE_START = re.compile(r"^\d{1,3}\s+\S")
_DIGITS = re.compile(r"\d+")
# Running headers and footers sit in the top or bottom margin band and repeat across pages.
_MARGIN_BAND = 0.1


@dataclass
class _Line:
    text: str
    size: float
    bold: bool
    top: float
    bottom: float
    page: int
    starts_with_mark: bool
    in_margin: bool = False


def load_pdf(raw: bytes, name: str) -> Loaded:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    try:
        document = pymupdf.open(stream=raw, filetype="pdf")
    except (RuntimeError, ValueError) as exc:
        raise UnreadableDocument(name, f"corrupt PDF: {str(exc).lower()}") from exc
    if document.needs_pass:
        raise UnreadableDocument(name, "encrypted PDF")
    if document.page_count == 0:
        raise UnreadableDocument(name, "corrupt PDF: no pages")
    try:
        lines = [line for number in range(document.page_count) for line in _page_lines(document[number], number)]
    except RuntimeError as exc:
        raise UnreadableDocument(name, f"corrupt PDF: {str(exc).lower()}") from exc
    title = (document.metadata or {}).get("title") or None
    lines = _without_running_lines(lines, document.page_count) if document.page_count > 1 else lines
    if not lines:
        raise UnreadableDocument(name, "no text found (scanned PDF?)")
    document.close()
    units, marked = _paragraphs(lines)
    return Loaded(units=units, title=title, marked_headings=marked, superscript_markers=False)


def _page_lines(page: object, number: int) -> list[_Line]:
    out: list[_Line] = []
    data = page.get_text("dict")  # type: ignore[attr-defined]
    height = data.get("height") or 1.0
    for block in data["blocks"]:
        for line in block.get("lines", ()):
            spans = [s for s in line["spans"] if s["text"]]
            if not spans or not "".join(s["text"] for s in spans).strip():
                continue
            main = max(spans, key=lambda s: len(s["text"].strip()))
            size, baseline = main["size"], main["origin"][1]
            parts: list[str] = []
            starts_with_mark = False
            for span in spans:
                text = span["text"]
                if _is_superscript(span, size, baseline):
                    if not "".join(parts).strip():
                        starts_with_mark = True
                    parts.append(mark(text.strip()))
                else:
                    parts.append(text)
            text = " ".join("".join(parts).split())
            if text.isdigit():  # a page number
                continue
            bold = all(s["flags"] & _BOLD_FLAG for s in spans if s["text"].strip())
            top, bottom = line["bbox"][1], line["bbox"][3]
            in_margin = bottom < height * _MARGIN_BAND or top > height * (1 - _MARGIN_BAND)
            out.append(_Line(text, round(size * 2) / 2, bold, top, bottom, number, starts_with_mark, in_margin))
    return out


def _without_running_lines(lines: list[_Line], pages: int) -> list[_Line]:
    """Drop a margin line whose text (digits aside: "Page 3 of 9") recurs on half the pages or more."""
    seen: dict[str, set[int]] = {}
    for line in lines:
        if line.in_margin:
            seen.setdefault(_DIGITS.sub("#", line.text), set()).add(line.page)
    running = {text for text, on in seen.items() if len(on) >= max(2, pages / 2)}
    return [ln for ln in lines if not (ln.in_margin and _DIGITS.sub("#", ln.text) in running)]


def _is_superscript(span: dict[str, Any], size: float, baseline: float) -> bool:
    text = span["text"].strip()
    if not text or len(text) > 4 or not all(ch.isalnum() or ch in "*†‡" for ch in text):
        return False
    if span["flags"] & _SUPERSCRIPT_FLAG:
        return True
    return bool(span["size"] < 0.85 * size and span["origin"][1] < baseline - 0.15 * size)


def _paragraphs(lines: list[_Line]) -> tuple[list[Unit], bool]:
    weights: Counter[float] = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    body = weights.most_common(1)[0][0]
    heading_sizes = sorted({ln.size for ln in lines if _heading_sized(ln, body)}, reverse=True)
    marked = bool(heading_sizes)
    units: list[Unit] = []
    current: Unit | None = None
    prev: _Line | None = None
    for line in lines:
        if _heading_sized(line, body):
            units.append(Unit(line.text, kind="heading", level=heading_sizes.index(line.size) + 1))
            current, prev = None, line
            continue
        bullet = _BULLET.match(line.text)
        new_block = (
            current is None
            or prev is None
            or prev.page != line.page
            or abs(prev.size - line.size) > 0.5
            or line.top - prev.bottom > 0.6 * line.size
            or bool(bullet)
            or line.starts_with_mark
            or (line.size < body and _NOTE_START.match(line.text) is not None)
        )
        if new_block:
            text = line.text[bullet.end():] if bullet else line.text
            current = Unit(text, kind="item" if bullet else ("para" if marked else "text"))
            units.append(current)
        elif current is not None:
            current.text = _join(current.text, line.text)
        prev = line
    return units, marked


def _heading_sized(line: _Line, body: float) -> bool:
    return line.size >= body * 1.15 and len(line.text) <= 120 and not line.starts_with_mark


def _join(text: str, line: str) -> str:
    if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].islower():
        return text[:-1] + line  # a word hyphenated at the line end
    return f"{text} {line}"

"""pptx -> blocks (python-pptx): one section per slide, titled by the slide's title, then its notes.

- A slide's title placeholder is its heading (level 1; ``Slide N`` when it has none). When the first slide
  is a title slide (a centred-title placeholder), its title is the document's title and its subtitle the
  text under it.
- The other shapes are read top to bottom, left to right (groups included): a body placeholder's paragraphs
  and any paragraph with a bullet are list items, a text box's paragraphs are paragraphs, a table is one
  ``table`` unit (its first row is the header row of ``units.table_row``).
- The slide's speaker notes follow under a level-2 heading ``Notes``.
- A run in superscript (``baseline`` above 0) that reads like a marker (``1``, ``*``, ``a``) is a footnote
  marker; a paragraph that starts with one is that footnote's definition (a slide's source line). Where a
  slide numbers its notes from 1 again, its markers are ``<slide>.<marker>`` (``5.1``).
- A hyperlink keeps its text; its URL is appended to a footnote definition's text, and elsewhere becomes
  a note of its own marked ``link-N`` (one per URL), as reStructuredText's named links do.
"""

from __future__ import annotations

import io
import re
from typing import Any

from footnote.ingest.units import MARK_CLOSE, MARK_OPEN, Loaded, Unit, mark, table_row

_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_MARKER = re.compile(r"^\W?(\d{1,4}|[a-z]|[*†‡§])\W?$")
_MARK = re.compile(f"{MARK_OPEN}([^{MARK_OPEN}{MARK_CLOSE}]*){MARK_CLOSE}")  # linear: no open in a mark
_EXTERNAL = ("http://", "https://", "ftp://")
_TITLES = {"TITLE", "CENTER_TITLE", "VERTICAL_TITLE"}
_BODIES = {"BODY", "OBJECT", "VERTICAL_BODY", "VERTICAL_OBJECT"}


def load_pptx(raw: bytes, name: str) -> Loaded:
    from pptx import Presentation

    presentation = Presentation(io.BytesIO(raw))
    reader = _Reader()
    doc_title: str | None = presentation.core_properties.title or None
    seen: set[str] = set()
    for number, slide in enumerate(presentation.slides, start=1):
        start = len(reader.units)
        title_shape = _title_shape(slide)
        title = _text(title_shape) if title_shape is not None else ""
        kind = _placeholder_type(title_shape) if title_shape is not None else ""
        if number == 1 and kind == "CENTER_TITLE" and title:
            reader.units.append(Unit(title, kind="title"))
            doc_title = doc_title or title
        else:
            reader.units.append(Unit(title or f"Slide {number}", kind="heading", level=1))
        title_id = title_shape.shape_id if title_shape is not None else None
        for shape in _reading_order(s for s in slide.shapes if s.shape_id != title_id):
            reader.shape(shape)
        if slide.has_notes_slide:
            frame = slide.notes_slide.notes_text_frame
            if frame is not None and frame.text.strip():
                reader.units.append(Unit("Notes", kind="heading", level=2))
                for paragraph in frame.paragraphs:
                    reader.paragraph(paragraph, "para")
        _own_markers(reader.units[start:], number, seen)
    return Loaded(units=reader.units, notes=reader.notes, title=doc_title, marked_headings=True,
                  superscript_markers=False)


def _own_markers(units: list[Unit], number: int, seen: set[str]) -> None:
    """Slides often number their sources from 1 again: a marker an earlier slide used becomes
    ``<slide>.<marker>`` here (``5.1``), in the reference and the definition alike."""
    used = {m for unit in units for m in _MARK.findall(unit.text) if not m.startswith("link-")}
    taken = used & seen
    if taken:
        for unit in units:
            unit.text = _MARK.sub(lambda m: mark(f"{number}.{m.group(1)}" if m.group(1) in taken else m.group(1)),
                                  unit.text)
    seen.update(f"{number}.{m}" if m in taken else m for m in used)


def _title_shape(slide: Any) -> Any:
    for shape in slide.placeholders:
        if _placeholder_type(shape) in _TITLES and shape.has_text_frame:
            return shape
    return None


def _placeholder_type(shape: Any) -> str:
    if not getattr(shape, "is_placeholder", False):
        return ""
    kind = shape.placeholder_format.type
    return str(getattr(kind, "name", kind) or "")


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda s: (s.top or 0, s.left or 0))


def _text(shape: Any) -> str:
    return " ".join(shape.text_frame.text.split())


class _Reader:
    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.notes: dict[str, str] = {}
        self.links: dict[str, str] = {}

    def shape(self, shape: Any) -> None:
        if getattr(shape, "shapes", None) is not None and shape.shape_type is not None and (
            str(getattr(shape.shape_type, "name", "")) == "GROUP"
        ):
            for child in _reading_order(shape.shapes):
                self.shape(child)
            return
        if getattr(shape, "has_table", False) and shape.has_table:
            self.table(shape.table)
            return
        if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
            return
        kind = "item" if _placeholder_type(shape) in _BODIES else "para"
        for paragraph in shape.text_frame.paragraphs:
            self.paragraph(paragraph, kind)

    def paragraph(self, paragraph: Any, kind: str) -> None:
        bullet = _bullet(paragraph)
        if bullet is not None:
            kind = "item" if bullet else "para"
        parts: list[str] = []
        urls: list[str] = []
        definition = False
        for index, run in enumerate(paragraph.runs):
            text = run.text.replace("\v", " ")
            baseline = run.font._rPr.get("baseline") if run.font._rPr is not None else None
            if baseline is not None and int(baseline) > 0 and _MARKER.match(text.strip()):
                marker = _MARKER.match(text.strip())
                assert marker is not None
                parts.append(mark(marker.group(1)))
                definition = definition or index == 0
                continue
            parts.append(text)
            address = run.hyperlink.address if run.hyperlink is not None else None
            if address and address.startswith(_EXTERNAL) and address not in text:
                urls.append(address)
                if not definition:
                    parts.append(self.link(text, address))
        line = " ".join("".join(parts).split())
        if definition:
            for url in urls:
                line = f"{line} <{url}>"
            kind = "para"
        if line:
            self.units.append(Unit(line, kind=kind))

    def link(self, text: str, url: str) -> str:
        if url not in self.links:
            self.links[url] = f"link-{len(self.links) + 1}"
            self.notes.setdefault(self.links[url], f"{' '.join(text.split())} <{url}>")
        return mark(self.links[url])

    def table(self, table: Any) -> None:
        rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in table.rows]
        if not rows:
            return
        headers, body = (rows[0], rows[1:]) if len(rows) > 1 else ([], rows)
        text = "\n".join(line for line in (table_row(headers, cells) for cells in body) if line)
        if text:
            self.units.append(Unit(text, kind="table"))


def _bullet(paragraph: Any) -> bool | None:
    """True for an explicit bullet or number, False for ``buNone``, None when the layout decides."""
    properties = paragraph._p.pPr
    if properties is None:
        return None
    if properties.find(f"{{{_A}}}buNone") is not None:
        return False
    if properties.find(f"{{{_A}}}buChar") is not None or properties.find(f"{{{_A}}}buAutoNum") is not None:
        return True
    return None

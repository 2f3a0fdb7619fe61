"""docx -> blocks: paragraphs and tables in order (python-docx), Title/Heading N styles, list items,
tables (one ``table`` unit each: one line per row after the first, each cell named by its column header,
under a "Table 1: ..." caption paragraph just before or after it),
and the footnotes and endnotes of ``word/footnotes.xml`` / ``word/endnotes.xml`` (read with lxml,
since python-docx does not expose them). Markers are numbered as Word shows them: in order of first
reference, footnotes first."""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from footnote.errors import UnreadableDocument
from footnote.ingest.units import Loaded, Unit, mark, table_row

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEADING = re.compile(r"^heading\s*(\d)$", re.I)
# "Table 1: Costs", "Table 2. Costs", "Tab. 3 - Costs": a caption paragraph just before or after a table.
_CAPTION = re.compile(r"^(?:Table|Tab\.)\s+[\dIVX]+[A-Za-z]?\s*[.:\u2013\u2014-]\s*\S")
_SKIP_TYPES = {"separator", "continuationSeparator", "continuationNotice"}


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def load_docx(raw: bytes, name: str) -> Loaded:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        package = zipfile.ZipFile(io.BytesIO(raw))
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise UnreadableDocument(name, "not a valid docx") from exc
    with package:
        bodies = {kind: _notes(package, kind) for kind in ("footnote", "endnote")}
    numbers: dict[tuple[str, str], str] = {}
    styles = {style.style_id: style.name or style.style_id for style in document.styles}
    units: list[Unit] = []
    for element in document.element.body.iterchildren():
        if element.tag == _w("p"):
            _paragraph(element, units, numbers, styles)
        elif element.tag == _w("tbl"):
            table = _table(element, numbers)
            if table is None:  # a layout table: its paragraphs, in order
                seen: set[int] = set()
                for cell in element.iter(_w("tc")):
                    for paragraph in cell.iter(_w("p")):
                        if id(paragraph) not in seen:
                            seen.add(id(paragraph))
                            _paragraph(paragraph, units, numbers, styles)
            else:
                if units and units[-1].kind == "para" and _CAPTION.match(units[-1].text):
                    table.caption = units.pop().text
                units.append(table)
        if (
            len(units) >= 2 and units[-2].kind == "table" and not units[-2].caption
            and units[-1].kind == "para" and _CAPTION.match(units[-1].text) and element.tag == _w("p")
        ):
            caption = units.pop()
            units[-1].caption = caption.text
    notes = {number: bodies[kind].get(ident, "") for (kind, ident), number in numbers.items()}
    title = document.core_properties.title or None
    marked = any(u.kind in ("heading", "title") for u in units)
    if not marked:
        for unit in units:
            unit.kind = "text" if unit.kind == "para" else unit.kind
    return Loaded(units=units, notes=notes, title=title, marked_headings=marked, superscript_markers=False)


def _paragraph(
    p: etree._Element, units: list[Unit], numbers: dict[tuple[str, str], str], styles: dict[str, str]
) -> None:
    text = _text(p, numbers)
    if not text:
        return
    style = _style_name(p, styles)
    heading = _HEADING.match(style)
    if style == "title":
        units.append(Unit(text, kind="title"))
    elif heading:
        units.append(Unit(text, kind="heading", level=int(heading.group(1))))
    elif style.startswith("list") or p.find(f"{_w('pPr')}/{_w('numPr')}") is not None:
        units.append(Unit(text, kind="item"))
    else:
        units.append(Unit(text, kind="para"))


def _text(p: etree._Element, numbers: dict[tuple[str, str], str]) -> str:
    """A paragraph's text, footnote and endnote references written as markers."""
    parts: list[str] = []
    for run in p.iter(_w("r")):
        for child in run:
            if child.tag == _w("t"):
                parts.append(child.text or "")
            elif child.tag in (_w("tab"), _w("br"), _w("cr")):
                parts.append(" ")
            elif child.tag == _w("noBreakHyphen"):
                parts.append("-")
            elif child.tag in (_w("footnoteReference"), _w("endnoteReference")):
                kind = "footnote" if child.tag == _w("footnoteReference") else "endnote"
                key = (kind, child.get(_w("id")) or "")
                numbers.setdefault(key, str(len(numbers) + 1))
                parts.append(mark(numbers[key]))
    return " ".join("".join(parts).split())


def _table(tbl: etree._Element, numbers: dict[tuple[str, str], str]) -> Unit | None:
    """A ``table`` unit (the first row names the columns), or None for a layout table: one row, one
    column, or a table inside a cell."""
    if any(cell.find(f".//{_w('tbl')}") is not None for cell in tbl.iter(_w("tc"))):
        return None
    rows: list[list[str]] = []
    for tr in tbl.iterchildren(_w("tr")):
        cells: list[str] = []
        for tc in tr.iterchildren(_w("tc")):
            text = " ".join(t for t in (_text(p, numbers) for p in tc.iterchildren(_w("p"))) if t)
            span = tc.find(f"{_w('tcPr')}/{_w('gridSpan')}")
            width = int(span.get(_w("val")) or 1) if span is not None and (span.get(_w("val")) or "").isdigit() else 1
            cells.extend([text] + [""] * (min(max(width, 1), 100) - 1))
        if any(cells):
            rows.append(cells)
    if len(rows) < 2 or max(len(cells) for cells in rows) < 2:
        return None
    headers = rows[0]
    lines = [line for line in (table_row(headers, cells) for cells in rows[1:]) if line]
    return Unit("\n".join(lines), kind="table") if lines else None


def _style_name(p: etree._Element, styles: dict[str, str]) -> str:
    """``heading 2``, ``title``, ``list bullet``... (the style's name, or its id when undefined)."""
    style = p.find(f"{_w('pPr')}/{_w('pStyle')}")
    if style is None:
        return ""
    ident = style.get(_w("val")) or ""
    return re.sub(r"(?<=[a-z])(?=\d)", " ", styles.get(ident, ident)).lower()


def _notes(package: zipfile.ZipFile, kind: str) -> dict[str, str]:
    """{id: text} of word/footnotes.xml or word/endnotes.xml; hyperlink targets appended as <url>."""
    part = f"word/{kind}s.xml"
    if part not in package.namelist():
        return {}
    root = etree.fromstring(package.read(part))
    links = _relationships(package, f"word/_rels/{kind}s.xml.rels")
    notes: dict[str, str] = {}
    for note in root.iter(_w(kind)):
        if note.get(_w("type")) in _SKIP_TYPES:
            continue
        text = " ".join("".join(t.text or "" for t in note.iter(_w("t"))).split())
        for link in note.iter(_w("hyperlink")):
            url = links.get(link.get(f"{{{_R}}}id") or "")
            if url and url not in text:
                text = f"{text} <{url}>"
        notes[note.get(_w("id")) or ""] = text
    return notes


def _relationships(package: zipfile.ZipFile, part: str) -> dict[str, str]:
    if part not in package.namelist():
        return {}
    root = etree.fromstring(package.read(part))
    return {rel.get("Id", ""): rel.get("Target", "") for rel in root.iter(f"{{{_REL}}}Relationship")}

"""PDF -> blocks with PyMuPDF: lines in reading order, joined into paragraphs; headings, tables and
footnote markers.

Per page:
- lines in reading order: the margin bands first (top) and last (bottom); between them, when the page
  has columns (gutters that almost no line crosses), each column top to bottom, with lines that span the
  gutters (a page-wide title, a table) cutting the page into bands;
- rotated text (margin stamps, vertical watermarks) is dropped;
- a ruled table (PyMuPDF's ``find_tables``) becomes one ``table`` unit, each row a line that names its
  columns; the short line just above it is its caption.

Across pages: running headers and footers (margin lines that recur, digits aside) are dropped. A paragraph
continues across columns and pages until a line ends a sentence; a word broken at a line end is joined
(the hyphen is dropped only where the document itself writes the joined word). Footnote definitions (a
smaller line opening with a superscript marker, and the small lines that follow it) are taken out of the
body flow, so a sentence interrupted by a page's footnotes reads whole. Headings come from the outline
(bookmarks) when the document has one, else from font size, and from bold body-size lines that stand alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from footnote.errors import UnreadableDocument
from footnote.ingest.units import Loaded, Unit, mark, table_row

if TYPE_CHECKING:
    from footnote.ingest.ocr import OcrOptions

# A word on the page and its box: (text, x0, y0, x1, y1).
Word = tuple[str, float, float, float, float]

_SUPERSCRIPT_FLAG = 1
_BOLD_FLAG = 16
_BULLET = re.compile(r"^[•·▪◦‣\-–*]\s+")
_NOTE_START = re.compile(r"^\d{1,3}\s+\S")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W\d_]+")
_TERMINAL = re.compile(r"[.!?:;。！？…][\"'”’)\]]*$")
_URLISH = re.compile(r"(?:https?://|www\.|@)\S*$")
# Running headers and footers sit in the top or bottom margin band and repeat across pages.
_MARGIN_BAND = 0.1
# A running line recurs on this share of the pages or more (0.3 keeps alternating left/right headers).
_RUNNING_SHARE = 0.3
# A gutter between columns is at least this wide (points) and crossed by few lines.
_GUTTER = 4.0
_SPANNING_SHARE = 0.3
# A table's caption sits at most this far (points) above it.
_CAPTION_GAP = 24.0


@dataclass
class _Line:
    text: str
    size: float
    bold: bool
    x0: float
    top: float
    x1: float
    bottom: float
    page: int
    starts_with_mark: bool
    in_margin: bool = False
    table: Unit | None = None
    heading_level: int = 0
    words: list[Word] = field(default_factory=list)


def load_pdf(raw: bytes, name: str, ocr: OcrOptions | None = None) -> Loaded:
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
    pages: list[tuple[float, list[_Line]]] = []
    ocr_pages: list[int] = []
    sizes: list[tuple[float, float]] = []
    try:
        for number in range(document.page_count):
            page = document[number]
            textpage = page.get_textpage(flags=pymupdf.TEXTFLAGS_DICT)  # images kept: OCR looks for them
            data = page.get_text("dict", textpage=textpage)
            words = page.get_text("words", textpage=textpage)
            sizes.append((float(page.rect.width), float(page.rect.height)))
            if ocr is not None and ocr.enabled and len(ocr_pages) < ocr.max_pages:
                from footnote.ingest.ocr import needs_ocr, page_dict

                if needs_ocr(data):
                    data = page_dict(page, ocr)
                    words = []  # an OCRed page has no page map: its words are not the file's
                    ocr_pages.append(number)
            pages.append((data.get("height") or 1.0, _page_lines(page, data, number, words)))
        toc = document.get_toc(simple=True)
    except RuntimeError as exc:
        raise UnreadableDocument(name, f"corrupt PDF: {str(exc).lower()}") from exc
    title = _meta_title((document.metadata or {}).get("title") or "", name)
    if document.page_count > 1:
        running = _running_texts([ln for _, page_lines in pages for ln in page_lines], document.page_count)
        pages = [(height, [ln for ln in page_lines if not _is_running(ln, running)]) for height, page_lines in pages]
    lines = [ln for _, page_lines in pages for ln in _columns(page_lines)]
    document.close()
    if not lines:
        raise UnreadableDocument(name, "no text found (scanned PDF?)")
    if toc:
        _outline_headings(lines, toc)
    units, marked = _paragraphs(lines)
    layout = [(ln.page + 1, ln.words, ln.table.text if ln.table is not None else "") for ln in lines if ln.words]
    return Loaded(units=units, title=title, marked_headings=marked, superscript_markers=False,
                  ocr_pages=ocr_pages, layout=layout, page_sizes=sizes)


def _meta_title(title: str, name: str) -> str | None:
    """The metadata title, unless it is empty or a file name a converter wrote in ("Microsoft Word - x")."""
    title = " ".join(title.split())
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if not title or title.lower() in {"untitled", stem.lower()} or re.search(r"\.(?:docx?|pdf|tex|odt)$", title, re.I):
        return None
    if title.lower().startswith("microsoft word -"):
        return None
    return title


def _page_lines(page: Any, data: dict[str, Any], number: int, words: list[Any] | None = None) -> list[_Line]:
    """The page's lines (rotated text dropped, table text taken into table units), each with its words
    and their boxes (from the same text page, keyed by block and line number) for the page map."""
    height = data.get("height") or 1.0
    tables = _tables(page, data)
    by_line: dict[tuple[int, int], list[Word]] = {}
    for word in words or ():
        by_line.setdefault((int(word[5]), int(word[6])), []).append(
            (str(word[4]), float(word[0]), float(word[1]), float(word[2]), float(word[3])))
    out: list[_Line] = []
    for block_no, block in enumerate(data["blocks"]):
        for line_no, line in enumerate(block.get("lines", ())):
            spans = [s for s in line["spans"] if s["text"]]
            if not spans or not "".join(s["text"] for s in spans).strip():
                continue
            direction = line.get("dir", (1.0, 0.0))
            if abs(direction[0] - 1.0) > 0.02 or abs(direction[1]) > 0.02:
                continue  # margin stamps and vertical watermarks
            x0, top, x1, bottom = line["bbox"]
            if any(_inside((x0, top, x1, bottom), table_box) for table_box, _ in tables):
                continue
            text_spans = [s for s in spans if len(s["text"].strip()) >= 2] or spans
            size = max(s["size"] for s in text_spans)
            main = max(spans, key=lambda s: len(s["text"].strip()))
            baseline = main["origin"][1]
            parts: list[str] = []
            starts_with_mark = False
            marks: list[tuple[float, float]] = []  # x extents of the marker spans, kept out of the page map
            for span in spans:
                text = span["text"]
                if _is_superscript(span, size, baseline):
                    marks.append((span["bbox"][0], span["bbox"][2]))
                    if not "".join(parts).strip():
                        starts_with_mark = True
                    elif parts[-1].endswith(" "):
                        parts[-1] = parts[-1].rstrip()  # a marker belongs to the word before it
                    parts.append(mark(text.strip()))
                else:
                    parts.append(text)
            text = " ".join("".join(parts).split())
            if text.isdigit():  # a page number
                continue
            bold = all(s["flags"] & _BOLD_FLAG for s in spans if s["text"].strip())
            in_margin = bottom < height * _MARGIN_BAND or top > height * (1 - _MARGIN_BAND)
            out.append(_Line(text, round(size * 2) / 2, bold, x0, top, x1, bottom, number, starts_with_mark,
                             in_margin, words=_without_marks(by_line.get((block_no, line_no), []), marks)))
    for box, unit in tables:
        caption = _caption_for(box, out)
        if caption is not None:
            out.remove(caption)
            unit.caption = caption.text
            unit.text = f"{caption.text}\n{unit.text}"
        inside = sorted((w for ws in by_line.values() for w in ws if _inside(w[1:], box)), key=lambda w: (w[2], w[1]))
        out.append(_Line(unit.text, 0.0, False, box[0], box[1], box[2], box[3], number, False, table=unit,
                         words=inside))
    return out


def _without_marks(words: list[Word], marks: list[tuple[float, float]]) -> list[Word]:
    """The line's words with footnote markers taken out: a marker printed as a word of its own is dropped,
    one glued to the word before it ("alert,5") is cut off, box included."""
    if not marks:
        return words
    out: list[Word] = []
    for text, x0, y0, x1, y1 in words:
        for m0, m1 in marks:
            if m0 - 0.5 <= x0 and x1 <= m1 + 0.5:
                text = ""
                break
            if x0 < m0 < x1 <= m1 + 0.5:
                cut = len(text) - max(1, round(len(text) * (x1 - m0) / (x1 - x0)))
                text, x1 = text[:max(cut, 0)].rstrip(), m0
        if text:
            out.append((text, x0, y0, x1, y1))
    return out


def _inside(inner: tuple[float, float, float, float], outer: tuple[float, float, float, float]) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] - 1 <= cx <= outer[2] + 1 and outer[1] - 1 <= cy <= outer[3] + 1


def _rules(page: Any) -> tuple[list[tuple[float, float, float, float]], list[tuple[float, float, float, float]]]:
    """The page's vertical and horizontal ruling lines (thin filled rectangles and stroked lines)."""
    vertical: list[tuple[float, float, float, float]] = []
    horizontal: list[tuple[float, float, float, float]] = []
    for path in page.get_drawings():
        for item in path["items"]:
            if item[0] == "l":
                a, b = item[1], item[2]
                box = (min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y))
            elif item[0] == "re":
                r = item[1]
                box = (r.x0, r.y0, r.x1, r.y1)
            else:
                continue
            if box[2] - box[0] < 2 and box[3] - box[1] > 5:
                vertical.append(box)
            elif box[3] - box[1] < 2 and box[2] - box[0] > 20:
                horizontal.append(box)
    return vertical, horizontal


def _tables(page: Any, data: dict[str, Any]) -> list[tuple[tuple[float, float, float, float], Unit]]:
    """Ruled tables on the page as (box, table unit), read from the ruling lines themselves: column
    rules (vertical lines that overlap in height) give the columns, the first horizontal rule under the
    top one closes the header. A line of text belongs to the column its centre falls in, and a new row
    starts where the first column has a line that is not indented (an indented line continues the cell
    above). Dot leaders are dropped from cells."""
    vertical, horizontal = _rules(page)
    if len(vertical) < 2 or not horizontal:
        return []
    groups: list[list[tuple[float, float, float, float]]] = []
    for rule in sorted(vertical, key=lambda v: v[1]):
        if groups and rule[1] <= max(v[3] for v in groups[-1]) + 3:
            groups[-1].append(rule)
        else:
            groups.append([rule])
    lines = [
        (tuple(line["bbox"]), "".join(s["text"] for s in line["spans"]))
        for block in data["blocks"] for line in block.get("lines", ())
        if "".join(s["text"] for s in line["spans"]).strip()
    ]
    out: list[tuple[tuple[float, float, float, float], Unit]] = []
    for group in groups:
        xs = sorted({round(v[0], 1) for v in group})
        top, bottom = min(v[1] for v in group), max(v[3] for v in group)
        across = sorted((h for h in horizontal if top - 3 <= h[1] <= bottom + 3 and h[0] < xs[0] and h[2] > xs[-1]),
                        key=lambda h: h[1])
        if len(xs) < 2 or not across:
            continue
        box = (min(h[0] for h in across), min(top, across[0][1]), max(h[2] for h in across), max(bottom, across[-1][1]))
        unit = _table_unit(box, xs, [h[1] for h in across], [(b, t) for b, t in lines if _inside(b, box)])
        if unit is not None:
            out.append((box, unit))
    return out


def _table_unit(box: tuple[float, float, float, float], xs: list[float], rules: list[float],
                inside: list[tuple[tuple[float, ...], str]]) -> Unit | None:
    edges = [box[0], *xs, box[2]]
    columns = len(edges) - 1
    below_top = [y for y in rules if y > box[1] + 5]
    header_bottom = below_top[0] if below_top else None

    def column(b: tuple[float, ...]) -> int:
        centre = (b[0] + b[2]) / 2
        for k in range(columns):
            if centre < edges[k + 1]:
                return k
        return columns - 1

    ordered = sorted(inside, key=lambda item: (item[0][1], item[0][0]))
    if header_bottom is None:  # no header rule: the first row of text is the header
        if not ordered:
            return None
        header_bottom = ordered[0][0][3] + 1
    heads = [""] * columns
    for b, t in ordered:
        if b[3] <= header_bottom + 1:
            heads[column(b)] = f"{heads[column(b)]} {t}".strip()
    body = [(b, t) for b, t in ordered if b[3] > header_bottom + 1]
    if not body:
        return None
    first = [b for b, _ in body if column(b) == 0]
    left = min((b[0] for b in first), default=box[0])
    starts = sorted({round(b[1], 1) for b in first if b[0] <= left + 2}) or [body[0][0][1]]
    rows = [[""] * columns for _ in starts]
    for b, t in body:
        row = max((k for k, start in enumerate(starts) if start <= b[1] + 2), default=0)
        k = column(b)
        rows[row][k] = f"{rows[row][k]} {_without_leader(t)}".strip()
    text = "\n".join(r for r in (table_row([" ".join(h.split()) for h in heads], cells) for cells in rows) if r)
    return Unit(text, kind="table") if text else None


def _without_leader(cell: str) -> str:
    """A cell's text without the dot leader that runs to the next column ("AFM revisions ........"): two
    dots or more, spaces between, at the end. A scan from the end: linear on any text."""
    cell = cell.strip()
    end, dots = len(cell), 0
    while end > 0 and cell[end - 1] in ". ":
        dots += cell[end - 1] == "."
        end -= 1
    return cell[:end].rstrip() if dots >= 2 else cell


def _caption_for(box: tuple[float, ...], lines: list[_Line]) -> _Line | None:
    above = [ln for ln in lines if 0 <= box[1] - ln.bottom <= _CAPTION_GAP and ln.x1 > box[0] and ln.x0 < box[2]]
    if not above:
        return None
    line = max(above, key=lambda ln: ln.bottom)
    centred = abs((line.x0 + line.x1) / 2 - (box[0] + box[2]) / 2) < 0.15 * (box[2] - box[0])
    if centred and len(line.text) <= 120 and not line.text.endswith("."):
        return line
    return None


def _columns(lines: list[_Line]) -> list[_Line]:
    """A page's lines in reading order: by columns where the page has them, with lines that span the
    gutters (a page-wide title, a table) cutting the page into bands read one after the other."""
    by_top = sorted(lines, key=lambda ln: (ln.top, ln.x0))
    if len(lines) < 6:
        return by_top
    gutters = _gutters(lines)
    if not gutters:
        return by_top
    spanning = [ln for ln in lines if any(ln.x0 < g0 and ln.x1 > g1 for g0, g1 in gutters)]
    if len(spanning) > _SPANNING_SHARE * len(lines):
        return by_top  # mostly full-width lines: one column with some short lines
    out: list[_Line] = []
    band: list[_Line] = []

    def flush() -> None:
        edges = [g0 for g0, _ in gutters]
        for k in range(len(edges) + 1):
            lo = edges[k - 1] if k > 0 else float("-inf")
            hi = edges[k] if k < len(edges) else float("inf")
            out.extend(ln for ln in band if lo <= (ln.x0 + ln.x1) / 2 < hi)
        band.clear()

    for line in by_top:
        if any(line.x0 < g0 and line.x1 > g1 for g0, g1 in gutters):
            flush()
            out.append(line)
        else:
            band.append(line)
    flush()
    return out


def _gutters(lines: list[_Line]) -> list[tuple[float, float]]:
    """Vertical strips at least ``_GUTTER`` wide that no narrow line crosses, with text on both sides."""
    left, right = min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)
    narrow = [ln for ln in lines if ln.x1 - ln.x0 < 0.6 * (right - left)]
    if len(narrow) < 4:
        return []
    spans = sorted((ln.x0, ln.x1) for ln in narrow)
    gutters: list[tuple[float, float]] = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= _GUTTER:
            gutters.append((reach, x0))
        reach = max(reach, x1)
    # Each column needs several lines, or the "gutter" is only the space after a short line.
    kept: list[tuple[float, float]] = []
    edges = [left] + [g for pair in gutters for g in pair] + [right]
    for k, gutter in enumerate(gutters):
        before = sum(1 for ln in narrow if edges[2 * k] <= ln.x0 and ln.x1 <= gutter[0])
        after = sum(1 for ln in narrow if gutter[1] <= ln.x0 and ln.x1 <= edges[2 * k + 3])
        if before >= 3 and after >= 3:
            kept.append(gutter)
    return kept


def _running_texts(lines: list[_Line], pages: int) -> set[str]:
    """Margin lines whose text (digits aside: "Page 3 of 9", "Vol. 85, No. 152") recurs on enough pages
    to be a running header or footer."""
    seen: dict[str, set[int]] = {}
    for line in lines:
        if line.in_margin and line.table is None:
            seen.setdefault(_DIGITS.sub("#", line.text), set()).add(line.page)
    return {text for text, on in seen.items() if len(on) >= max(2, pages * _RUNNING_SHARE)}


def _is_running(line: _Line, running: set[str]) -> bool:
    return line.in_margin and line.table is None and _DIGITS.sub("#", line.text) in running


def _is_superscript(span: dict[str, Any], size: float, baseline: float) -> bool:
    text = span["text"].strip()
    if not text or len(text) > 4 or not all(ch.isalnum() or ch in "*†‡" for ch in text):
        return False
    if span["flags"] & _SUPERSCRIPT_FLAG:
        return True
    return bool(span["size"] < 0.85 * size and span["origin"][1] < baseline - 0.15 * size)


def _outline_headings(lines: list[_Line], toc: list[list[Any]]) -> None:
    """Mark the lines that the document's outline (bookmarks) names as headings, at its levels."""
    for entry in toc:
        level, title, page = int(entry[0]), " ".join(str(entry[1]).split()), int(entry[2]) - 1
        if not title:
            continue
        key = title.casefold()
        for line in lines:
            if line.page == page and line.table is None and not line.heading_level:
                text = line.text.casefold()
                if text == key or (len(text) >= 8 and key.startswith(text)) or (len(key) >= 8 and text.startswith(key)):
                    line.heading_level = level
                    break


def _paragraphs(lines: list[_Line]) -> tuple[list[Unit], bool]:
    weights: Counter[float] = Counter()
    for line in lines:
        if line.table is None:
            weights[line.size] += len(line.text)
    body = weights.most_common(1)[0][0] if weights else 0.0
    outline = any(ln.heading_level for ln in lines)
    vocabulary = _vocabulary(lines)
    if not outline:
        sizes = sorted({ln.size for ln in lines if _heading_sized(ln, body)}, reverse=True)
        for line in lines:
            if _heading_sized(line, body):
                line.heading_level = sizes.index(line.size) + 1
        bold_level = len(sizes) + 1
        for k, line in enumerate(lines):
            if _bold_heading(lines, k, body):
                line.heading_level = bold_level
    marked = any(ln.heading_level for ln in lines)
    units: list[Unit] = []
    notes: list[Unit] = []
    current: Unit | None = None
    prev: _Line | None = None
    # The last body paragraph, kept open while small print or a masthead interrupts it: a body line
    # that continues its sentence joins it again.
    open_body: tuple[Unit, _Line] | None = None
    note: Unit | None = None
    prev_note: _Line | None = None
    last_heading: _Line | None = None
    for line in lines:
        if line.table is not None:
            units.append(line.table)
            current, prev = None, None
            continue
        if line.heading_level:
            level = line.heading_level
            if (
                last_heading is not None and units and units[-1].kind == "heading" and prev is None
                and last_heading.page == line.page and last_heading.size == line.size
                and 0 <= line.top - last_heading.bottom < 0.6 * line.size
            ):
                units[-1].text = _join(units[-1].text, line.text, vocabulary)  # a heading over two lines
            else:
                units.append(Unit(line.text, kind="heading", level=level))
            current, prev, last_heading = None, None, line
            continue
        last_heading = None
        continues = note is not None and prev_note is not None and _follows(prev_note, line)
        opens = line.starts_with_mark or (
            _NOTE_START.match(line.text) is not None
            and not (continues and prev_note is not None and not _TERMINAL.search(prev_note.text))
        )
        if line.size < body - 0.5 and (opens or continues):
            if opens or note is None:
                note = Unit(line.text, kind="para" if marked else "text")
                notes.append(note)
            else:
                note.text = _join(note.text, line.text, vocabulary)
            prev_note = line
            continue
        bullet = _BULLET.match(line.text)
        new_block = (
            current is None
            or prev is None
            or abs(prev.size - line.size) > 0.5
            or bool(bullet)
            or line.starts_with_mark
            or (line.size < body and _NOTE_START.match(line.text) is not None)
            or _ends_paragraph(prev, line)
        )
        if (
            new_block and not bullet and open_body is not None and open_body[0] is not current
            and abs(line.size - body) <= 0.5 and line.text[:1].islower()
            and not _TERMINAL.search(open_body[0].text)
        ):
            current, prev = open_body  # the interrupted paragraph goes on
            new_block = False
        if new_block:
            text = line.text[bullet.end():] if bullet else line.text
            current = Unit(text, kind="item" if bullet else ("para" if marked else "text"))
            units.append(current)
        elif current is not None:
            current.text = _join(current.text, line.text, vocabulary)
        prev = line
        if current is not None and abs(line.size - body) <= 0.5 and current.kind != "item":
            open_body = (current, line)
    return units + notes, marked


def _follows(prev: _Line, line: _Line) -> bool:
    """Does ``line`` continue the small-print block ``prev`` belongs to (same column, just below, or the
    top of the next column or page)?"""
    if line.page == prev.page and abs(line.x0 - prev.x0) < 12:
        return -2 <= line.top - prev.bottom < 0.8 * line.size
    return not _TERMINAL.search(prev.text)


def _ends_paragraph(prev: _Line, line: _Line) -> bool:
    """A vertical gap in one column, or a sentence that ended before an indented line or a new column
    or page, closes the paragraph; otherwise the text runs on (across columns and pages)."""
    same_column = line.page == prev.page and abs(line.x0 - prev.x0) < 20 and line.top >= prev.top
    ended = _TERMINAL.search(prev.text) is not None
    if same_column:
        if line.top - prev.bottom > 0.6 * line.size:
            return True
        return ended and line.x0 - prev.x0 > 3  # first-line indent
    return ended


def _heading_sized(line: _Line, body: float) -> bool:
    return line.size >= body * 1.15 and len(line.text) <= 120 and not line.starts_with_mark


def _bold_heading(lines: list[_Line], k: int, body: float) -> bool:
    """A bold line at body size that stands alone: short, no closing punctuation, after a finished
    paragraph, and not itself continued by the next line."""
    line = lines[k]
    if not line.bold or line.heading_level or line.table is not None or abs(line.size - body) > 0.5:
        return False
    if len(line.text) > 120 or len(line.text.split()) > 14 or line.starts_with_mark:
        return False
    first = line.text[:1]
    if re.search(r"[.,;:]$", line.text) or not (first.isupper() or first.isdigit() or first == "["):
        return False
    prev = lines[k - 1] if k > 0 else None
    if prev is not None and not prev.bold and prev.table is None and not _TERMINAL.search(prev.text):
        return False
    return True


def _vocabulary(lines: list[_Line]) -> set[str]:
    """The words the document writes whole (lower case), to tell "air-⏎plane" from "Soekarno-⏎Hatta"."""
    words: set[str] = set()
    for line in lines:
        for word in _WORD.findall(line.text):
            words.add(word.lower())
    return words


def _join(text: str, line: str, vocabulary: set[str]) -> str:
    """Join the next line onto a paragraph. A line that ends inside a word (a hyphen or dash right after
    a letter or digit, or a URL or e-mail address that breaks at a slash, a dash or an @) joins without
    a space; the hyphen is dropped only when the document writes the joined word elsewhere."""
    if not text:
        return line
    last = text[-1]
    if last in "-–—‐" and len(text) > 1 and not text[-2].isspace():
        if last in "-‐" and text[-2].isalpha() and line[:1].islower():
            head = _WORD.search(text[:-1][::-1])
            stem = head.group(0)[::-1] if head else ""
            tail = _WORD.match(line)
            joined = f"{stem}{tail.group(0) if tail else ''}".lower()
            if joined in vocabulary:
                return text[:-1] + line
        return text + line
    token = text.rsplit(" ", 1)[-1]
    if _URLISH.search(token) and last in "/@._-=?&#%" and not line[:1].isupper():
        return text + line
    if token.endswith("://"):
        return text + line
    return f"{text} {line}"

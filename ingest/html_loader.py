"""HTML -> blocks: headings h1-h6, paragraphs, list items, tables; footnote lists and <sup> markers.

A data table becomes one ``table`` unit: one line per body row, each cell named by its column header
(``units.table_row``), under its ``<caption>``. A table used for page layout (one column, one row, a
table inside or around another, ``role=presentation``) is read as blocks, as before.

Footnote definitions are elements with a note-like id (``fn3``, ``fn:3``, ``footnote-3``, ``note3``)
or the items of a footnote container (``section.footnotes``, ``[role=doc-endnotes]``, ``aside``).
A ``<sup>`` (or ``a.footnote-ref``) becomes a marker when it links to a note or its text names one.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString, PageElement

from footnote.ingest.units import Loaded, Unit, mark, table_row

_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_DROP = ["script", "style", "noscript", "template", "nav", "form", "button", "svg", "iframe", "head"]
_BLOCKS = {
    "p", "div", "section", "article", "main", "body", "blockquote", "pre", "ul", "ol", "dl", "dt", "dd",
    "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "figure", "figcaption", "header",
    "footer", "aside", "address", "details", "summary", "hr", "html", "center",
}
_NOTE_ID = re.compile(r"^(?:fn|footnote|note|endnote|ftn|edn|cite_note)[-_:]?(.*?)(\d+|[a-z])$", re.I)
_NOTE_CONTAINER = "section.footnotes, div.footnotes, ol.footnotes, [role=doc-endnotes], [role=doc-footnotes], aside"
_BACKREF = "a.footnote-backref, a[href^='#fnref'], a[role=doc-backlink], a.reversefootnote"
_MARKER_TEXT = re.compile(r"^\[?\(?(\w{1,4})\)?\]?$")
_WS = re.compile(r"\s+")
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# A marker is a few nodes (``<sup><a href="#fn3">[3]</a></sup>`` is 3); anything bigger is not one.
_MARKER_NODES = 8


def load_html(text: str) -> Loaded:
    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    title = _squash(title_tag.get_text()) if title_tag else None
    for element in soup(_DROP):
        element.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for element in soup.select("span.mw-editsection, a.headerlink, a.anchor"):
        element.decompose()
    notes, ids = _take_notes(soup)
    _replace_markers(soup, notes, ids)
    walker = _Walker()
    walker.walk(soup.body or soup, "para")
    walker.flush("para")
    return Loaded(units=walker.units, notes=notes, title=title or None, marked_headings=True,
                  superscript_markers=False)


def _take_notes(soup: BeautifulSoup) -> tuple[dict[str, str], dict[str, str]]:
    """Remove footnote definitions from the tree: ({marker: text}, {element id: marker})."""
    notes: dict[str, str] = {}
    ids: dict[str, str] = {}
    definitions: list[Tag] = []
    for container in soup.select(_NOTE_CONTAINER):
        items: list[Tag] = list(container.find_all("li") or container.find_all(["p", "div"], id=True))
        if container.name == "aside" and not any(_NOTE_ID.match(str(i.get("id", ""))) for i in items):
            if not container.get("id") or not _NOTE_ID.match(str(container.get("id"))):
                continue
            items = [container]
        for number, item in enumerate(items, start=1):
            definitions.append(item)
            _define(item, notes, ids, str(number))
        container.extract()
    for element in soup.find_all(["li", "p", "div", "aside", "dd"], id=_NOTE_ID):
        if element not in definitions:
            _define(element, notes, ids, None)
            element.extract()
    return notes, ids


def _define(item: Tag, notes: dict[str, str], ids: dict[str, str], fallback: str | None) -> None:
    ident = str(item.get("id", ""))
    match = _NOTE_ID.match(ident)
    marker = match.group(2) if match else fallback or str(len(notes) + 1)
    for backref in item.select(_BACKREF):
        backref.decompose()
    lead = item.find("sup")
    if lead is not None and _squash(lead.get_text()).strip("[]()") == marker:
        lead.decompose()
    text = _squash(item.get_text()).replace("↩", "").strip()
    text = re.sub(rf"^\[?{re.escape(marker)}[\].)]?\s+", "", text)
    for link in item.find_all("a", href=True):
        href = str(link["href"])
        if href.startswith(("http://", "https://")) and href not in text:
            text = f"{text} <{href}>"
    notes.setdefault(marker, text)
    if ident:
        ids[ident] = marker


def _small(element: Tag) -> bool:
    """True when ``element`` has few descendants, as every footnote marker does. Looking inside a large
    one (``get_text``, ``find``) for each candidate would be quadratic on nested ``<sup>`` tags."""
    budget = _MARKER_NODES
    stack: list[PageElement] = [element]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            budget -= len(node.contents)  # bs4's ``descendants`` first walks to the deepest node: O(depth)
            if budget < 0:
                return False
            stack.extend(node.contents)
    return True


def _replace_markers(soup: BeautifulSoup, notes: dict[str, str], ids: dict[str, str]) -> None:
    candidates = [e for e in soup.select("sup, a.footnote-ref, a[role=doc-noteref]") if _small(e)]
    # Where markers are links to their notes, an unlinked <sup> is an exponent, not a marker.
    any_linked = any(
        a is not None and str(a.get("href", "")).partition("#")[2] in ids
        for a in (e if e.name == "a" else e.find("a", href=True) for e in candidates)
    )
    for element in candidates:
        if element.parent is None:
            continue
        link = element if element.name == "a" else element.find("a", href=True)
        target = str(link.get("href", "")) if link is not None else ""
        marker = ids.get(target.split("#", 1)[1]) if "#" in target else None
        if marker is None:
            found = _MARKER_TEXT.match(_squash(element.get_text()))
            linked = link is not None and target.startswith("#")
            known = found is not None and found.group(1) in notes and not (any_linked and not linked)
            marker = found.group(1) if found and (known or linked) else None
        if marker is not None:
            parent = element.parent if element.parent and element.parent.name == "sup" else element
            parent.replace_with(NavigableString(mark(marker)))
        elif element.name == "sup" and element.get_text().strip().isdigit():
            # Not a footnote (10<sup>6</sup>, m<sup>2</sup>): keep it readable as a Unicode superscript.
            element.replace_with(NavigableString(element.get_text().strip().translate(_SUPERSCRIPT)))


class _Walker:
    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.buffer: list[str] = []

    def flush(self, kind: str) -> None:
        text = _squash("".join(self.buffer))
        self.buffer = []
        if text:
            self.units.append(Unit(text, kind=kind))

    def walk(self, node: Tag, kind: str) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                self.buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _HEADINGS:
                self.flush(kind)
                heading = _squash(child.get_text(" ")).rstrip("¶#").strip()
                if heading:
                    self.units.append(Unit(heading, kind="heading", level=_HEADINGS[name], anchor=_element_id(child)))
            elif name == "li":
                self.flush(kind)
                self.walk(child, "item")
                self.flush("item")
            elif name == "table" and (table := _data_table(child)) is not None:
                self.flush(kind)
                self.units.append(table)
            elif name == "br":
                self.buffer.append(" ")
            elif name in _BLOCKS:
                self.flush(kind)
                self.walk(child, kind)
                self.flush(kind)
            else:
                self.walk(child, kind)


def _squash(text: str) -> str:
    return _WS.sub(" ", text).strip()


_MAX_SPAN = 100  # a colspan beyond this is an error in the page, not a table 10,000 columns wide


def _data_table(table: Tag) -> Unit | None:
    """A ``table`` unit for a data table, or None for a layout table (read as blocks instead)."""
    if str(table.get("role", "")).lower() in ("presentation", "none") or table.find("table") is not None:
        return None
    if table.find_parent("table") is not None or table.find_parent(attrs={"role": "navigation"}) is not None:
        return None
    rows: list[tuple[list[str], list[bool]]] = []  # (cells, is_header) of each row
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells: list[str] = []
        heads: list[bool] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            text = _cell_text(cell)
            span = _span(cell)
            cells.extend([text] + [""] * (span - 1))
            heads.extend([cell.name == "th"] * span)
        if any(cells):
            rows.append((cells, heads))
    if len(rows) < 2 or max(len(cells) for cells, _ in rows) < 2:
        return None
    caption = table.find("caption")
    title = _squash(caption.get_text(" ")) if caption is not None else ""
    # A first row that is one cell across the table is its title (infobox, navbox), not column headers.
    if len({cell for cell in rows[0][0] if cell}) == 1 and len(rows[0][0]) > 1 and not rows[0][0][1]:
        title = title or next(cell for cell in rows[0][0] if cell)
        rows = rows[1:]
        if not rows:
            return None
    headers: list[str] = []
    thead = table.find("thead")
    if thead is not None and thead.find_parent("table") is table:
        count = sum(1 for tr in thead.find_all("tr") if tr.find_parent("table") is table)
        head_rows, body = rows[:count], rows[count:]
    else:
        count = 0
        while count < len(rows) and all(rows[count][1]):
            count += 1
        head_rows, body = rows[:count], rows[count:]
    if head_rows:
        width = max(len(cells) for cells, _ in head_rows)
        columns: list[list[str]] = [[] for _ in range(width)]
        for cells, _ in head_rows:
            last = ""
            for k, name in enumerate(cells):
                name = name or last  # a header spanning columns names each of them
                last = name
                if name and name not in columns[k]:
                    columns[k].append(name)
        headers = [" ".join(parts) for parts in columns]
    lines = [_row_line(headers, cells, heads) for cells, heads in body]
    lines = [line for line in lines if line]
    if not lines:
        return None
    return Unit("\n".join(lines), kind="table", caption=title)


def _row_line(headers: list[str], cells: list[str], heads: list[bool]) -> str:
    """One row; without column headers, a row that opens with a header cell names the rest by it."""
    if not any(headers) and heads[:1] == [True] and len(cells) > 1 and cells[0]:
        rest = "; ".join(cell for cell in cells[1:] if cell)
        return f"{cells[0]}: {rest}" if rest else cells[0]
    return table_row(headers, cells)


def _span(cell: Tag) -> int:
    try:
        return min(max(int(str(cell.get("colspan", "1")).strip() or "1"), 1), _MAX_SPAN)
    except ValueError:
        return 1


def _cell_text(cell: Tag) -> str:
    """A cell's text: inline elements joined as written, block elements (p, li, br) by a space."""
    walker = _Walker()
    walker.walk(cell, "para")
    walker.flush("para")
    return " ".join(unit.text for unit in walker.units)


def _element_id(heading: Tag) -> str:
    """The id a page gives its heading (on the heading, or on an element inside it, as MediaWiki's
    ``<span class="mw-headline" id="History">``), so a footnote can link to the page's own anchor."""
    own = heading.get("id")
    if isinstance(own, str) and own.strip():
        return own.strip()
    inner = heading.find(id=True)
    if isinstance(inner, Tag):
        found = inner.get("id")
        if isinstance(found, str) and found.strip():
            return found.strip()
    return ""

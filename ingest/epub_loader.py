"""EPUB -> blocks: the chapters in spine order, each read by the HTML loader, then merged; EPUB footnotes
and endnotes linked to their markers across files.

Read with zipfile and lxml (``META-INF/container.xml`` -> the OPF package -> its manifest and spine):
no extra dependency. The navigation document and non-XHTML items of the spine are left out.

- The title is the package's ``dc:title``; chapters keep their own ``h1``-``h6`` headings. A chapter that
  does not open with a heading is headed by its table-of-contents label (EPUB 3 nav or NCX), else by its
  ``<title>``.
- A note is an element typed ``epub:type="footnote"``, ``"endnote"``, ``"rearnote"`` or ``"note"`` (or
  ``role="doc-footnote"`` / ``"doc-endnote"``), or the block a note reference points to. A reference is
  ``<a epub:type="noteref">`` (or ``role="doc-noteref"``) whose ``href`` names it, in the same file or in
  another one (``notes.xhtml#n3``); in EPUB 2, a superscript number linking into another file
  (``<sup><a href="notes.html#n3">3</a></sup>``). Notes are numbered in the order they are first referenced across the
  book, as Word numbers them, since books often restart their numbering in each chapter.
- Footnotes the HTML loader finds itself in a chapter (``<sup><a href="#fn1">``) are renumbered into the
  same sequence.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lxml import etree

from footnote.errors import UnreadableDocument
from footnote.ingest.encoding import decode
from footnote.ingest.units import MARK_CLOSE, MARK_OPEN, Loaded, Unit, mark

_CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
_OPF = "http://www.idpf.org/2007/opf"
_DC = "http://purl.org/dc/elements/1.1/"
_NCX = "http://www.daisy.org/z3986/2005/ncx/"
_XHTML = {"application/xhtml+xml", "text/html", "application/xml"}
_NOTE_TYPES = {"footnote", "endnote", "rearnote", "note", "doc-footnote", "doc-endnote"}
_NOTEREF = {"noteref", "doc-noteref"}
_BACKLINK = {"backlink", "doc-backlink", "referrer"}
_BLOCK = {"aside", "li", "p", "div", "dd", "section", "td"}
_SHORT = re.compile(r"^[\[(]?\w{1,4}[\])]?$")
_LABEL = re.compile(r"^\[?\d{1,3}[\].)]?$")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACED = re.compile(r"(?<!\s)\s+(?=[.,;:!?)\]])")  # from a run's first space only: linear
_MARKED = re.compile(f"{MARK_OPEN}([^{MARK_OPEN}{MARK_CLOSE}]*){MARK_CLOSE}")  # linear: no open in a mark
# An EPUB note's marker while its chapter goes through the HTML loader, whose own markers are digits or a
# letter: ``epub-3`` becomes ``3`` after it.
_PLACEHOLDER = "epub-"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class _Chapter:
    path: str
    soup: Any
    label: str


def load_epub(raw: bytes, name: str) -> Loaded:
    from bs4 import BeautifulSoup

    try:
        package = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise UnreadableDocument(name, f"not a valid EPUB ({exc})") from exc
    with package:
        names = set(package.namelist())
        if "META-INF/container.xml" not in names:
            raise UnreadableDocument(name, "not a valid EPUB (no META-INF/container.xml)")
        container = etree.fromstring(package.read("META-INF/container.xml"), _XML)
        rootfile = container.find(f".//{{{_CONTAINER}}}rootfile")
        opf_path = unquote(rootfile.get("full-path", "")) if rootfile is not None else ""
        if opf_path not in names:
            raise UnreadableDocument(name, f"not a valid EPUB (no package document {opf_path or '(unnamed)'})")
        opf = etree.fromstring(package.read(opf_path), _XML)
        base = posixpath.dirname(opf_path)
        manifest: dict[str, tuple[str, str, str]] = {}
        for item in opf.iter(f"{{{_OPF}}}item"):
            href = posixpath.normpath(posixpath.join(base, unquote(item.get("href", ""))))
            manifest[item.get("id", "")] = (href, item.get("media-type", ""), item.get("properties", ""))
        spine = [manifest[ref.get("idref", "")] for ref in opf.iter(f"{{{_OPF}}}itemref")
                 if ref.get("idref", "") in manifest]
        if not spine:
            raise UnreadableDocument(name, "not a valid EPUB (empty spine)")
        title_node = opf.find(f".//{{{_DC}}}title")
        title = " ".join((title_node.text or "").split()) if title_node is not None else ""
        labels = _toc_labels(package, manifest, opf, names)
        chapters: list[_Chapter] = []
        for href, media, properties in spine:
            if media in _XHTML and href in names and "nav" not in properties.split() and not any(
                c.path == href for c in chapters
            ):
                soup = BeautifulSoup(_xhtml(package.read(href)), "lxml")
                chapters.append(_Chapter(href, soup, labels.get(href, "")))
    notes = _link_notes(chapters)
    return _merge(chapters, notes, title or None)


def _toc_labels(package: zipfile.ZipFile, manifest: dict[str, tuple[str, str, str]], opf: Any,
                names: set[str]) -> dict[str, str]:
    """{chapter path: its first table-of-contents label}, from the EPUB 3 nav, else the NCX."""
    from bs4 import BeautifulSoup

    labels: dict[str, str] = {}
    for href, _media, properties in manifest.values():
        if "nav" in properties.split() and href in names:
            soup = BeautifulSoup(_xhtml(package.read(href)), "lxml")
            for link in soup.select("nav a[href]"):
                target = _resolve(href, str(link["href"]))[0]
                labels.setdefault(target, " ".join(link.get_text().split()))
    if labels:
        return labels
    spine = opf.find(f"{{{_OPF}}}spine")
    ncx_id = spine.get("toc", "") if spine is not None else ""
    ncx = manifest.get(ncx_id)
    if ncx is None or ncx[0] not in names:
        return labels
    root = etree.fromstring(package.read(ncx[0]), _XML)
    for point in root.iter(f"{{{_NCX}}}navPoint"):
        text = point.find(f"{{{_NCX}}}navLabel/{{{_NCX}}}text")
        content = point.find(f"{{{_NCX}}}content")
        if text is not None and content is not None:
            target = _resolve(ncx[0], content.get("src", ""))[0]
            labels.setdefault(target, " ".join((text.text or "").split()))
    return labels


def _xhtml(raw: bytes) -> str:
    """A chapter's text without its XML declaration (read as HTML, as the HTML loader reads it)."""
    return _DECLARATION.sub("", decode(raw), count=1)


def _resolve(here: str, href: str) -> tuple[str, str]:
    """(file path in the package, fragment) of ``href`` met in the file ``here``."""
    path, _, fragment = href.partition("#")
    if not path:
        return here, unquote(fragment)
    return posixpath.normpath(posixpath.join(posixpath.dirname(here), unquote(path))), unquote(fragment)


def _types(element: Any) -> set[str]:
    return set(str(element.get("epub:type", "")).split()) | set(str(element.get("role", "")).split())


def _link_notes(chapters: list[_Chapter]) -> dict[str, str]:
    """Replace every note reference with its marker and take the notes out of the chapters: {marker: text}."""
    by_id: dict[tuple[str, str], Any] = {}
    for chapter in chapters:
        for element in chapter.soup.find_all(id=True):
            by_id.setdefault((chapter.path, str(element["id"])), element)
    numbers: dict[int, str] = {}  # id() of a note element -> its marker
    notes: dict[str, str] = {}
    found: list[tuple[Any, Any]] = []
    for chapter in chapters:
        for link in chapter.soup.find_all("a", href=True):
            where = _resolve(chapter.path, str(link["href"]))
            target = by_id.get(where)
            if target is None or not (_types(link) & _NOTEREF or _untyped_noteref(link, where[0] != chapter.path)):
                continue
            note = target if target.name in _BLOCK or _types(target) & _NOTE_TYPES else target.find_parent(_BLOCK)
            if note is None:
                continue
            marker = numbers.setdefault(id(note), str(len(numbers) + 1))
            found.append((note, marker))
            holder = link.parent if link.parent is not None and link.parent.name == "sup" else link
            holder.replace_with(mark(_PLACEHOLDER + marker))
    for chapter in chapters:  # typed notes nobody references are still notes, not body text
        for element in chapter.soup.find_all(True):
            if _types(element) & _NOTE_TYPES and id(element) not in numbers and element.name in _BLOCK:
                numbers[id(element)] = str(len(numbers) + 1)
                found.append((element, numbers[id(element)]))
    for note, marker in found:
        if marker in notes or note.parent is None:
            continue
        notes[marker] = _note_text(note)
        note.extract()
    return notes


def _untyped_noteref(link: Any, elsewhere: bool) -> bool:
    """An EPUB 2 note reference: a superscript number linking into another file (``<sup><a
    href="notes.html#n3">3</a></sup>``). One within its own file is the HTML loader's to find."""
    superscript = link.parent is not None and link.parent.name == "sup" or link.find("sup") is not None
    return elsewhere and superscript and _SHORT.match(" ".join(link.get_text().split())) is not None


def _note_text(note: Any) -> str:
    for link in note.find_all("a", href=True):
        shown = link.get_text().strip()
        internal = not str(link["href"]).startswith(("http://", "https://"))
        if _types(link) & _BACKLINK or shown in ("↩", "↑", "^") or internal and _LABEL.match(shown):
            link.decompose()
    text = _SPACED.sub("", " ".join(note.get_text(" ").replace("↩", "").split()))
    text = re.sub(r"^\[?\d{1,3}[\].)]?\s+", "", text)
    for link in note.find_all("a", href=True):
        href = str(link["href"])
        if href.startswith(("http://", "https://")) and href not in text:
            text = f"{text} <{href}>"
    return text


def _merge(chapters: list[_Chapter], notes: dict[str, str], title: str | None) -> Loaded:
    """Every chapter through the HTML loader, its own footnotes renumbered after the EPUB notes."""
    from footnote.ingest.html_loader import load_html

    units: list[Unit] = [Unit(title, kind="title")] if title else []
    for chapter in chapters:
        loaded = load_html(_DECLARATION.sub("", str(chapter.soup), count=1))
        renamed: dict[str, str] = {}
        for marker, text in loaded.notes.items():
            renamed[marker] = str(len(notes) + 1)
            notes[renamed[marker]] = text
        chapter_units = loaded.units

        def final(match: re.Match[str], renamed: dict[str, str] = renamed) -> str:
            return mark(_renamed(match.group(1), renamed))

        for unit in chapter_units:
            unit.text = _MARKED.sub(final, unit.text)
        if chapter_units and chapter_units[0].kind not in ("heading", "title"):
            label = chapter.label or (loaded.title or "")
            if label and label != title:
                chapter_units.insert(0, Unit(label, kind="heading", level=1))
        units.extend(chapter_units)
    return Loaded(units=units, notes=notes, title=title, marked_headings=True, superscript_markers=False)


def _renamed(marker: str, renamed: dict[str, str]) -> str:
    if marker.startswith(_PLACEHOLDER):
        return marker[len(_PLACEHOLDER):]
    return renamed.get(marker, marker)

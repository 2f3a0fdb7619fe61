"""reStructuredText -> blocks, read with docutils: the title, section headings, paragraphs, list items,
tables, literal blocks (one item per line), footnotes and citations, and hyperlinks.

- ``[1]_``, ``[#]_``, ``[#name]_``, ``[*]_`` and ``[CIT2002]_`` become markers named by their label as
  docutils numbers it (``1``, ``CIT2002``); their definitions become notes, with the URLs they link appended
  as ``<url>`` when the text does not show them.
- A named external link (`` `PEP index <https://peps.python.org/>`_ ``, or ``PEPs_`` with a ``.. _PEPs:``
  target) keeps its text in the body and becomes a note of its own, marked ``link-N`` (one per URL), whose
  text is the link text and the URL. A bare URL stays in the text as it is.
- Roles docutils does not know (Sphinx's ``:func:`open```, ``:ref:`label <target>```) keep their text.
  Unknown directives (``.. versionadded::``), comments, substitution definitions and the generated table
  of contents are left out.
- A Python Enhancement Proposal's RFC 822 header (``PEP: 8``, ``Title: ...``, ``Author: ...``) is not body
  text: the title is ``PEP 8 – <Title>`` and the header's main fields become one preamble paragraph
  (``PEP: 8; Author: ...; Status: Active; Type: Process; Created: 05-Jul-2001``), e-mail addresses left out.

docutils never reads another file (``include``, ``raw``, ``csv-table :file:``), never reads a config file,
and never prints: its reports are off (levels 5), so a malformed construct becomes text or is dropped.
"""

from __future__ import annotations

import io
import re
from typing import Any

from footnote.ingest.units import MARK_OPEN, Loaded, Unit, mark, table_row

_SETTINGS: dict[str, Any] = {
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "report_level": 5,
    "halt_level": 5,
    "_disable_config": True,
    "syntax_highlight": "none",
    "input_encoding": "unicode",
}
_HEADER_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?:[ \t]+(.*))?$")
_PREAMBLE = ("PEP", "Author", "Sponsor", "BDFL-Delegate", "PEP-Delegate", "Status", "Type", "Topic", "Created",
             "Python-Version", "Requires", "Replaces", "Superseded-By")
_EMAIL = re.compile(r"(?<!\s)\s*<[^<>\s]+@[^<>\s]+>")  # from a run's first space: linear
# ``:role:`text```, ``:domain:role:`text <target>```: an interpreted text docutils could not resolve.
_ROLE = re.compile(r"^(?::[\w.+-]+)+:`(?P<body>.*)`$|^`(?P<plain>.*)`_{0,2}$", re.S)
_TITLED = re.compile(r"^(?P<text>(?:.*\S)?)\s*<(?P<target>[^<>]*)>$", re.S)  # linear
_EXTERNAL = ("http://", "https://", "ftp://")
_BEFORE_MARK = re.compile(rf"(?<!\s)\s+(?={MARK_OPEN})")  # "style guide [2]_." reads "style guide." once marked
_SKIP = {"system_message", "comment", "substitution_definition", "pending", "raw", "transition", "target",
         "label", "meta", "image", "decoration", "header", "footer"}


def load_rst(text: str) -> Loaded:
    from docutils.core import publish_doctree

    header, body = split_pep_header(text)
    settings = dict(_SETTINGS, warning_stream=io.StringIO(), doctitle_xform=header is None)
    document = publish_doctree(body, settings_overrides=settings)
    walker = _Walker()
    title: str | None = None
    if header is not None:
        title = header["Title"]
        if header.get("PEP", "").isdigit():
            title = f"PEP {int(header['PEP'])} – {title}"
        walker.units.append(Unit(title, kind="title"))
        preamble = "; ".join(f"{k}: {_EMAIL.sub('', header[k])}" for k in _PREAMBLE if header.get(k))
        if preamble:
            walker.units.append(Unit(preamble, kind="para"))
    walker.blocks(document, "para", 0)
    for unit in walker.units:
        if unit.kind == "title" and title is None:
            title = unit.text
    return Loaded(units=walker.units, notes=walker.notes, title=title, marked_headings=True,
                  superscript_markers=False)


def split_pep_header(text: str) -> tuple[dict[str, str] | None, str]:
    """(the RFC 822 header's fields, the body after it), or (None, text) when ``text`` has no such header:
    lines ``Name: value`` (continued by indented lines) up to the first blank line, a ``Title`` among them."""
    lines = text.lstrip("\ufeff").split("\n")
    fields: dict[str, str] = {}
    current = ""
    end = 0
    for end, line in enumerate(lines):  # noqa: B007 - ``end`` is where the body starts
        if not line.strip():
            break
        if line[:1] in (" ", "\t") and current:
            fields[current] = f"{fields[current]} {line.strip()}".strip()
            continue
        match = _HEADER_FIELD.match(line.rstrip())
        if match is None:
            return None, text
        current = match.group(1)
        fields[current] = (match.group(2) or "").strip()
    else:
        return None, text
    if not fields.get("Title") or len(fields) < 2:
        return None, text
    return fields, "\n".join(lines[end:])


class _Walker:
    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.notes: dict[str, str] = {}
        self.links: dict[str, str] = {}  # URL -> its link-N marker

    def blocks(self, node: Any, kind: str, level: int) -> None:
        for child in node.children:
            self.block(child, kind, level)

    def block(self, node: Any, kind: str, level: int) -> None:
        from docutils import nodes

        name = node.tagname
        if name in _SKIP or isinstance(node, nodes.Invisible):
            return
        if isinstance(node, (nodes.footnote, nodes.citation)):
            self.define(node)
        elif isinstance(node, nodes.Text):
            self.add(node.astext(), kind)
        elif isinstance(node, nodes.section):
            self.blocks(node, kind, level + 1)
        elif isinstance(node, nodes.title):
            if isinstance(node.parent, nodes.section):
                self.add(self.inline(node), "heading", level)
            elif isinstance(node.parent, nodes.document):
                self.add(self.inline(node), "title")
            elif not isinstance(node.parent, nodes.table):
                self.add(self.inline(node), "para")
        elif isinstance(node, nodes.topic) and "contents" in node.get("classes", ()):
            return
        elif isinstance(node, (nodes.literal_block, nodes.doctest_block, nodes.math_block)):
            for line in self.inline(node).split("\n"):
                self.add(line, "code")
        elif isinstance(node, nodes.line):
            self.add(self.inline(node), "item")
        elif isinstance(node, nodes.list_item):
            self.blocks(node, "item", level)
        elif isinstance(node, nodes.field):
            self.field(node, kind, level)
        elif isinstance(node, nodes.option_list_item):
            self.add(" ".join(self.inline(part) for part in node.children), "item")
        elif isinstance(node, nodes.table):
            self.table(node)
        elif isinstance(node, nodes.docinfo):
            for child in node.children:
                if isinstance(child, nodes.field):
                    self.field(child, "para", level)
                else:
                    self.add(f"{child.tagname.title()}: {self.inline(child)}", "para")
        elif isinstance(node, nodes.TextElement):
            self.add(self.inline(node), kind)
        else:
            self.blocks(node, kind, level)

    def add(self, text: str, kind: str, level: int = 0) -> None:
        text = _BEFORE_MARK.sub("", text)
        if text.strip():
            self.units.append(Unit(text if kind in ("item", "code") else text.strip(), kind=kind, level=level))

    def field(self, node: Any, kind: str, level: int) -> None:
        """``:Name: body``: one block ``Name: body`` when the body is one paragraph."""
        from docutils import nodes

        name_node, body = node.children[0], node.children[1]
        name = self.inline(name_node)
        if len(body.children) == 1 and isinstance(body.children[0], nodes.paragraph):
            self.add(f"{name}: {self.inline(body.children[0])}", kind)
        else:
            self.add(f"{name}:", kind)
            self.blocks(body, kind, level)

    def table(self, node: Any) -> None:
        """One ``table`` unit: a row per line, each cell named by its column header (``units.table_row``)."""
        from docutils import nodes

        caption = ""
        headers: list[str] = []
        rows: list[str] = []
        for part in node.findall(nodes.title):
            if part.parent is node:
                caption = self.inline(part).strip()
        for group in node.findall(nodes.tgroup):
            for section in group.children:
                for row in section.children if isinstance(section, (nodes.thead, nodes.tbody)) else ():
                    cells = [" ".join(self.cell(entry)) for entry in row.children]
                    if isinstance(section, nodes.thead):
                        headers = cells
                    else:
                        rows.append(table_row(headers, cells))
        if not rows and headers:
            rows.append(table_row([], headers))
        text = "\n".join(r for r in rows if r)
        if text:
            self.units.append(Unit(text, kind="table", caption=caption))

    def cell(self, entry: Any) -> list[str]:
        from docutils import nodes

        out: list[str] = []
        for child in entry.children:
            if isinstance(child, nodes.TextElement):
                out.append(self.inline(child))
            elif isinstance(child, nodes.Element) and child.tagname not in _SKIP:
                out.extend(self.cell(child))
        return out

    def define(self, node: Any) -> None:
        """A footnote or citation: its label is its marker; the URLs it links are appended to its text."""
        from docutils import nodes

        labels = [child for child in node.children if isinstance(child, nodes.label)]
        if not labels:
            return
        marker = labels[0].astext().strip()
        urls: list[str] = []
        parts = [self.inline(child, urls) for child in node.children if not isinstance(child, nodes.label)]
        text = _BEFORE_MARK.sub("", " ".join(" ".join(parts).split()))
        for url in urls:
            if url not in text:
                text = f"{text} <{url}>"
        self.notes.setdefault(marker, text)

    def inline(self, node: Any, urls: list[str] | None = None) -> str:
        """The text of ``node`` with footnote markers written by ``units.mark``. With ``urls``, the external
        links met are collected there (inside a note); without, a named link becomes a ``link-N`` note."""
        from docutils import nodes

        if isinstance(node, nodes.Text):
            return str(node.astext())
        name = node.tagname
        if name in ("system_message", "comment", "substitution_definition", "raw", "target") and not (
            name == "target" and node.children
        ):
            return ""
        if isinstance(node, (nodes.footnote_reference, nodes.citation_reference)):
            return mark(node.astext().strip())
        if isinstance(node, nodes.problematic):
            return self.unknown(node.astext(), urls)
        if isinstance(node, nodes.image):
            return str(node.get("alt", ""))
        sep = "" if isinstance(node, (nodes.TextElement, nodes.Inline)) else " "
        text = sep.join(self.inline(child, urls) for child in node.children)
        if isinstance(node, nodes.reference):
            return text + self.link(text, str(node.get("refuri", "")), "name" in node.attributes, urls)
        return text

    def link(self, text: str, url: str, named: bool, urls: list[str] | None) -> str:
        if not url.startswith(_EXTERNAL):
            return ""
        if urls is not None:
            urls.append(url)
            return ""
        if not named or text.strip() == url:
            return ""
        if url not in self.links:
            self.links[url] = f"link-{len(self.links) + 1}"
            self.notes.setdefault(self.links[url], f"{' '.join(text.split())} <{url}>")
        return mark(self.links[url])

    def unknown(self, raw: str, urls: list[str] | None) -> str:
        """An interpreted text docutils could not resolve: its text, without the role and the target.
        ``:pep:`title <8>``` (which docutils refuses) still links the PEP."""
        match = _ROLE.match(raw.strip())
        if match is None:
            return raw.rstrip("_") if raw.endswith("_") and not raw.endswith("__") else raw
        body = match.group("body") if match.group("body") is not None else match.group("plain") or ""
        titled = _TITLED.match(body)
        if titled is None:
            return body.lstrip("~!")
        shown, target = titled.group("text"), titled.group("target")
        if raw.startswith(":pep:") and target.isdigit():
            return shown + self.link(shown, f"https://peps.python.org/pep-{int(target):04d}/", True, urls)
        return shown or target

"""Markdown -> blocks, read by its grammar (CommonMark with GFM tables, via markdown-it-py).

- Headings (ATX and setext) come from the parser, so a ``#`` line inside a code block stays code.
- Code spans keep their text byte for byte (``web:*.{html,css,js}*``). A fenced or indented code block
  becomes one unit per line (kind ``CODE_KIND``), which the structure step keeps byte for byte, one line
  after another.
- Emphasis markers are removed where the grammar says they are emphasis, and only there.
- A link keeps its text, and its URL is recorded like a citation: a footnote marker (``link1``,
  ``link2``, ... one per distinct URL) is written after the link text, with the note ``text <url>``, so the
  passage that quotes the link's words cites the URL without the URL changing the words. Only absolute
  URLs (``http``, ``https``, ``ftp``, ``mailto``) are recorded; a link inside the document (``#basics``)
  or to a relative path keeps its text only. Inside a footnote definition, a link is written
  ``text <url>`` as before (the definition is itself the citation).
- ``[^n]`` footnotes (``mdit_py_plugins.footnote``): references become markers, definitions notes.
- Front matter (``---`` YAML, ``+++`` TOML) and HTML comments are dropped; other raw HTML keeps its text.
- A GFM table is one ``table`` unit, one line per body row, each cell named by its column header.

markdown-it-py is a port of markdown-it, whose block and inline rules are written to run in linear time
on pathological input (unclosed comments, long runs of brackets or spaces); tests/ingest/test_markdown.py
holds the budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from footnote.ingest.units import MARK_CLOSE, MARK_OPEN, Loaded, Unit, mark, table_row

# The unit kind of one line of a code block. Not ``para``: the structure step joins a ``para`` that starts
# in lowercase to the block before it when that block does not end a sentence ("$ rg -l foo" +
# "src/main.rs", "!log/" + "ripgrep treats ..."). The structure step never joins a ``code`` unit to
# anything, so each code line stays a line of its own (separated by a blank line until the structure
# step learns the kind: one newline between code lines, whitespace kept as it is).
CODE_KIND = "code"

_LINK_SCHEMES = ("http://", "https://", "ftp://", "mailto:")
_LINK_MARKER = "link"
_COMMENT = re.compile(r"\s*<!--")
_MARKS = re.compile(f"{MARK_OPEN}[^{MARK_OPEN}{MARK_CLOSE}]*{MARK_CLOSE}")  # linear: no open in a mark


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin)
    md.use(footnote_plugin)
    return md


_PARSER = _parser()


def load_markdown(text: str) -> Loaded:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = text.replace("\u200b", "").replace("\u00ad", "")
    tokens = _PARSER.parse(text)
    return _Reader(tokens).read()


class _Reader:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.units: list[Unit] = []
        self.notes: dict[str, str] = {}
        self.labels = {
            str(t.meta.get("label", "")) for t in tokens if t.type == "footnote_open" and t.meta
        }
        self.link_markers: dict[str, str] = {}

    def read(self) -> Loaded:
        tokens = self.tokens
        list_items: list[str] = []  # the number ("1.") or "" of each open list item, innermost last
        item_started: list[bool] = []
        note: str | None = None  # label of the footnote definition being read
        note_parts: list[str] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            kind = token.type
            if kind == "footnote_open":
                note, note_parts = str(token.meta.get("label", "")), []
            elif kind == "footnote_close":
                if note is not None:
                    self.notes.setdefault(note, " ".join(" ".join(note_parts).split()))
                note = None
            elif note is not None:
                if kind == "inline":
                    note_parts.append(self.inline(token.children or [], in_note=True))
                elif kind in ("fence", "code_block"):
                    note_parts.append(token.content)
            elif kind == "heading_open":
                inline = tokens[i + 1]
                level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
                self.units.append(Unit(self.inline(inline.children or []), kind="heading", level=level))
                i += 2
            elif kind == "paragraph_open":
                inline = tokens[i + 1]
                body = self.inline(inline.children or [])
                if list_items and not item_started[-1]:
                    item_started[-1] = True
                    number = list_items[-1]
                    self.units.append(Unit(f"{number} {body}" if number else body, kind="item"))
                else:
                    self.units.append(Unit(body, kind="para"))
                i += 2
            elif kind in ("bullet_list_open", "ordered_list_open"):
                pass
            elif kind == "list_item_open":
                list_items.append(f"{token.info}{token.markup}" if token.info else "")
                item_started.append(False)
            elif kind == "list_item_close":
                list_items.pop()
                item_started.pop()
            elif kind in ("fence", "code_block"):
                for line in token.content.split("\n"):
                    if line.strip():
                        self.units.append(Unit(line, kind=CODE_KIND))
            elif kind == "html_block":
                self.html_block(token.content)
            elif kind == "table_open":
                i = self.table(i)
            i += 1
        return Loaded(units=self.units, notes=self.notes, marked_headings=True, superscript_markers=False)

    def html_block(self, content: str) -> None:
        """Raw HTML: comments dropped, the text of anything else kept as one paragraph."""
        if _COMMENT.match(content):
            return
        text = BeautifulSoup(content, "lxml").get_text(" ")
        if text.strip():
            self.units.append(Unit(" ".join(text.split()), kind="para"))

    def table(self, start: int) -> int:
        """Read a GFM table from ``tokens[start]`` (``table_open``); return the index of ``table_close``."""
        tokens = self.tokens
        headers: list[str] = []
        rows: list[list[str]] = []
        row: list[str] = []
        in_head = False
        i = start + 1
        while i < len(tokens) and tokens[i].type != "table_close":
            token = tokens[i]
            if token.type == "thead_open":
                in_head = True
            elif token.type == "thead_close":
                in_head = False
            elif token.type == "tr_open":
                row = []
            elif token.type == "tr_close":
                if in_head:
                    headers = row
                else:
                    rows.append(row)
            elif token.type == "inline":
                row.append(self.inline(token.children or []))
            i += 1
        lines = [line for line in (table_row(headers, cells) for cells in rows) if line]
        if lines:
            self.units.append(Unit("\n".join(lines), kind="table"))
        elif any(h.strip() for h in headers):  # a header row alone: keep its words
            self.units.append(Unit("; ".join(h for h in headers if h.strip()), kind="para"))
        return i

    def inline(self, children: Sequence[Token], in_note: bool = False) -> str:
        out: list[str] = []
        links: list[tuple[str, int]] = []  # (href, len(out) when the link opened)
        for child in children:
            kind = child.type
            if kind in ("text", "text_special", "code_inline"):
                out.append(child.content)
            elif kind in ("softbreak", "hardbreak"):
                out.append("\n")
            elif kind == "image":
                out.append(self.inline(child.children or [], in_note))
            elif kind == "footnote_ref":
                out.append(mark(str(child.meta.get("label", ""))))
            elif kind == "link_open":
                links.append((str(child.attrs.get("href", "")), len(out)))
            elif kind == "link_close" and links:
                href, opened = links.pop()
                label = "".join(out[opened:])
                if href.startswith(_LINK_SCHEMES):
                    if in_note:
                        if " ".join(label.split()) != href:
                            out.append(f" <{href}>")
                        elif label.startswith("http"):
                            out[opened:] = [f"<{href}>"]
                    else:
                        out.append(mark(self.link_marker(href, label)))
            elif kind == "html_inline":
                if child.content.lower().startswith("<br"):
                    out.append(" ")
            # em/strong/s open and close: emphasis markup, dropped
        return "".join(out).strip()

    def link_marker(self, href: str, label: str) -> str:
        marker = self.link_markers.get(href)
        if marker is None:
            number = len(self.link_markers) + 1
            while f"{_LINK_MARKER}{number}" in self.labels:
                number += 1
            marker = f"{_LINK_MARKER}{number}"
            self.link_markers[href] = marker
            label = " ".join(_MARKS.sub("", label).split())
            self.notes.setdefault(marker, f"<{href}>" if not label or label == href else f"{label} <{href}>")
        return marker

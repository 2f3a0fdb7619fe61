"""Blocks -> clean text: footnote definitions out, markers out, broken paragraphs mended, headings found.

The clean text keeps the title and heading lines (so every section has a span); blocks are separated
by a blank line, consecutive list items by a single newline.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from footnote.ingest.footnotes import citation, clean_inline, extract_definitions, sort_key
from footnote.ingest.models import Citation, Section
from footnote.ingest.normalize import normalize
from footnote.ingest.units import Loaded, Unit

# A block that ends like this is complete; anything else may continue in the next block.
_TERMINAL = re.compile(r"[.!?:;。！？…][\"'”’)\]]*$")
# Wiki exports glue the edit link to headings: "Technology Policy Of JapanEdit", "History [edit]".
_EDIT = re.compile(r"(?:(?<=[a-z0-9)])Edit|(?<!\s)\s*\[edit\])$")  # linear on spaces
_URLISH = re.compile(r"https?://|www\.")
_WS = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_PROSE_WORDS = 8


@dataclass(frozen=True)
class Structured:
    title: str
    text: str
    sections: tuple[Section, ...]
    footnotes: tuple[Citation, ...]
    markers: tuple[tuple[int, str], ...]


def build(loaded: Loaded, fallback_title: str) -> Structured:
    notes = dict(loaded.notes)
    units = extract_definitions(loaded.units, notes)
    known = set(notes) if loaded.superscript_markers else set()
    plain = loaded.superscript_markers
    units = [u for u in (_clean(u, known, plain) for u in units) if u.text]
    units = _mend(units)
    title = _pick_title(units, loaded, fallback_title)
    if not loaded.marked_headings:
        _infer_headings(units)
    for unit in units:
        if unit.kind in ("heading", "title"):
            unit.text = _EDIT.sub("", unit.text).strip() or unit.text
    if units and units[0].kind == "title":
        title = units[0].text
    text, sections, markers = _assemble(units, title)
    footnotes = tuple(
        citation(marker, normalize(notes[marker])) for marker in sorted(notes, key=sort_key) if notes[marker]
    )
    markers = tuple((o, m) for o, m in markers if m in notes)
    text, sections = _with_notes(text, sections, footnotes, markers, title)
    return Structured(title=title, text=text, sections=sections, footnotes=footnotes, markers=markers)


def is_prose(note: Citation) -> bool:
    """Does a footnote say something (a definition, an explanation) rather than only cite a source?

    A note is prose when it carries no link, has eight words or more, and reads as sentences: at least
    half of its words start in lower case (a reference is mostly names and title words: "Ministry of
    Economy, Trade and Industry, "Semiconductor Strategy," June 2023").
    """
    if note.urls:
        return False
    words = [w for w in note.text.split() if w[:1].isalpha()]
    return len(words) >= _PROSE_WORDS and sum(w[:1].islower() for w in words) * 2 >= len(words)


def _with_notes(
    text: str, sections: tuple[Section, ...], footnotes: tuple[Citation, ...],
    markers: tuple[tuple[int, str], ...], title: str,
) -> tuple[str, tuple[Section, ...]]:
    """Append the footnotes that are prose after the body, each a section of its own named
    "footnote N" under the section of its first reference, so they can be found and quoted. The body's
    offsets do not move."""
    first: dict[str, int] = {}
    for offset, marker in sorted(markers):
        first.setdefault(marker, offset)
    parts, extra = [text], []
    pos = len(text)
    for note in footnotes:
        if not is_prose(note):
            continue
        where = first.get(note.marker)
        path: tuple[str, ...] = (title,)
        if where is not None:
            for section in sections:
                if section.start <= where < section.end or (where == section.end == len(text)):
                    path = section.path
        sep = "\n\n" if pos else ""
        parts.append(sep + note.text)
        start = pos + len(sep)
        pos = start + len(note.text)
        extra.append(Section(path=(*path, f"footnote {note.marker}"), start=start, end=pos))
    return "".join(parts), sections + tuple(extra)


def _clean(unit: Unit, known: set[str], plain: bool = True) -> Unit:
    if unit.kind == "code":  # a line of code is the document's own bytes: only trailing space goes
        text = unit.text.rstrip()
        return Unit(text=text if text.strip() else "", kind="code")
    if unit.kind == "table":  # one row per line: each line is cleaned on its own
        rows = [_clean(Unit(row), known, plain) for row in unit.text.split("\n")]
        rows = [row for row in rows if row.text]
        row_markers: list[tuple[int, str]] = []
        pos = 0
        for row in rows:
            row_markers.extend((pos + o, m) for o, m in row.markers)
            pos += len(row.text) + 1
        caption = _clean(Unit(unit.caption), known, plain).text if unit.caption else ""
        return Unit(text="\n".join(row.text for row in rows), kind="table", caption=caption, markers=row_markers)
    raw = _WS.sub(" ", normalize(unit.text).replace("\n", " "))
    text, markers = clean_inline(raw, known, plain)
    stripped = text.lstrip()
    shift = len(text) - len(stripped)
    stripped = stripped.rstrip()
    markers = [(min(max(o - shift, 0), len(stripped)), m) for o, m in markers]
    return Unit(text=stripped, kind=unit.kind, level=unit.level, markers=markers, anchor=unit.anchor)


def _mend(units: list[Unit]) -> list[Unit]:
    """Join a block that stops mid-sentence with the lowercase block that continues it.

    This undoes page breaks and footnote blocks that a PDF-to-text conversion put inside a sentence.
    """
    out: list[Unit] = []
    for unit in units:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind in ("para", "item", "text")
            and unit.kind in ("para", "text")
            and unit.text[:1].islower()
            and not _TERMINAL.search(prev.text)
        ):
            offset = len(prev.text) + 1
            prev.text = f"{prev.text} {unit.text}"
            prev.markers.extend((o + offset, m) for o, m in unit.markers)
            continue
        out.append(unit)
    return out


def _pick_title(units: list[Unit], loaded: Loaded, fallback: str) -> str:
    if not units:
        return loaded.title or fallback
    first = units[0]
    if first.kind == "title":
        return first.text
    if not loaded.marked_headings:
        if first.kind == "text" and len(first.text) <= 150 and not _TERMINAL.search(first.text):
            first.kind = "title"
            return first.text
        return loaded.title or fallback
    headings = [u for u in units if u.kind == "heading"]
    if first.kind == "heading" and headings:
        top = min(u.level for u in headings)
        if first.level == top and sum(u.level == top for u in headings) == 1:
            first.kind = "title"
            return first.text
    return loaded.title or fallback


def _looks_like_heading(unit: Unit) -> bool:
    text = unit.text
    return (
        unit.kind == "text"
        and len(text) <= 80
        and len(text.split()) <= 12
        and (text[:1].isupper() or text[:1].isdigit())
        and not _TERMINAL.search(text)
        and not text.endswith((",", "-", "—", "–"))
        and not _URLISH.search(text)
    )


def _infer_headings(units: list[Unit]) -> None:
    """Plain text: a short stand-alone line, no closing punctuation, followed by body text.

    Levels: a heading that directly follows another heading is one level below it, and a heading
    that recurs in the document ("Status Quo", "Recommendations") is a sub-heading.
    """
    candidate = [_looks_like_heading(u) for u in units]
    leads_to_body = [False] * len(units)
    following_body = False
    for i in range(len(units) - 1, -1, -1):
        if not candidate[i]:
            following_body = units[i].kind in ("para", "item", "text")
        leads_to_body[i] = candidate[i] and following_body
    is_heading = [leads_to_body[i] and not _is_body_line(units, i) for i in range(len(units))]
    counts = Counter(units[i].text.casefold() for i in range(len(units)) if is_heading[i])
    prev_level = 0
    prev_was_heading = False
    for i, unit in enumerate(units):
        if not is_heading[i]:
            if unit.kind != "title":
                prev_was_heading = False
                if unit.kind == "text":
                    unit.kind = "para"
            continue
        if prev_was_heading:
            level = prev_level + 1
        elif counts[unit.text.casefold()] > 1 and prev_level >= 1:
            level = 2
        else:
            level = 1
        unit.kind, unit.level = "heading", level
        prev_level, prev_was_heading = level, True


def _is_body_line(units: list[Unit], i: int) -> bool:
    """A short line right after a block ending in ':' introduces a list item, not a section."""
    return i > 0 and units[i - 1].kind in ("text", "para") and units[i - 1].text.endswith(":")


def _assemble(
    units: list[Unit], title: str
) -> tuple[str, tuple[Section, ...], tuple[tuple[int, str], ...]]:
    """Join the blocks into the clean text; a heading opens a section, and a table is a section of its
    own (under its caption when it has one, which is then its first line), after which the heading's
    section goes on."""
    parts: list[str] = []
    markers: list[tuple[int, str]] = []
    starts: list[tuple[int, tuple[str, ...], str]] = []  # (offset, path, anchor) where a section begins
    stack: list[tuple[int, str]] = []
    pos = 0
    prev: Unit | None = None
    after_table = False
    for unit in units:
        if prev is not None:
            sep = "\n" if unit.kind == prev.kind and unit.kind in ("item", "code") else "\n\n"
            parts.append(sep)
            pos += len(sep)
        path = tuple(h for _, h in stack) or (title,)
        if unit.kind == "heading":
            while stack and stack[-1][0] >= unit.level:
                stack.pop()
            stack.append((unit.level, unit.text))
            starts.append((pos, tuple(h for _, h in stack), unit.anchor))
            after_table = False
        elif unit.kind == "table":
            if unit.caption and not unit.text.startswith(unit.caption):
                unit.markers = [(o + len(unit.caption) + 1, m) for o, m in unit.markers]
                unit.text = f"{unit.caption}\n{unit.text}"
            starts.append((pos, (*path, unit.caption) if unit.caption else path, ""))
            after_table = True
        elif after_table:
            starts.append((pos, path, ""))
            after_table = False
        markers.extend((pos + o, m) for o, m in unit.markers)
        parts.append(unit.text)
        pos += len(unit.text)
        prev = unit
    text = "".join(parts)
    sections: list[Section] = []
    first = starts[0][0] if starts else len(text)
    if first > 0:
        sections.append(Section(path=(title,), start=0, end=first))
    for k, (offset, path, anchor) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        if end > offset or k + 1 == len(starts):
            sections.append(Section(path=path, start=offset, end=end, anchor=anchor or None))
    return text, tuple(sections), tuple(markers)

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
from footnote.ingest.units import Loaded, Unit

# A block that ends like this is complete; anything else may continue in the next block.
_TERMINAL = re.compile(r"[.!?:;。！？…][\"'”’)\]]*$")
# Wiki exports glue the edit link to headings: "Technology Policy Of JapanEdit", "History [edit]".
_EDIT = re.compile(r"(?:(?<=[a-z0-9)])Edit|\s*\[edit\])$")
_URLISH = re.compile(r"https?://|www\.")
_WS = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")


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
    units = [u for u in (_clean(u, known) for u in units) if u.text]
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
        citation(marker, notes[marker]) for marker in sorted(notes, key=sort_key) if notes[marker]
    )
    markers = tuple((o, m) for o, m in markers if m in notes)
    return Structured(title=title, text=text, sections=sections, footnotes=footnotes, markers=markers)


def _clean(unit: Unit, known: set[str]) -> Unit:
    raw = _WS.sub(" ", unit.text.replace("\n", " "))
    text, markers = clean_inline(raw, known)
    stripped = text.lstrip()
    shift = len(text) - len(stripped)
    stripped = stripped.rstrip()
    markers = [(min(max(o - shift, 0), len(stripped)), m) for o, m in markers]
    return Unit(text=stripped, kind=unit.kind, level=unit.level, markers=markers)


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
    parts: list[str] = []
    markers: list[tuple[int, str]] = []
    headings: list[tuple[int, int, str]] = []  # (offset, level, text)
    pos = 0
    prev: Unit | None = None
    for unit in units:
        if prev is not None:
            sep = "\n" if unit.kind == prev.kind == "item" else "\n\n"
            parts.append(sep)
            pos += len(sep)
        if unit.kind == "heading":
            headings.append((pos, unit.level, unit.text))
        markers.extend((pos + o, m) for o, m in unit.markers)
        parts.append(unit.text)
        pos += len(unit.text)
        prev = unit
    text = "".join(parts)
    sections: list[Section] = []
    first = headings[0][0] if headings else len(text)
    if first > 0:
        sections.append(Section(path=(title,), start=0, end=first))
    stack: list[tuple[int, str]] = []
    for k, (offset, level, heading) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        end = headings[k + 1][0] if k + 1 < len(headings) else len(text)
        sections.append(Section(path=tuple(h for _, h in stack), start=offset, end=end))
    return text, tuple(sections), tuple(markers)

"""Plain text -> blocks (Markdown has its own loader, markdown_loader.py, that reads it by its grammar).

Lines are grouped into blocks by blank lines. Inside a block, a line starts a new block when it is a
list item, a heading, a footnote definition, or when the block is not hard-wrapped prose (the corpus
puts one paragraph per line, and the wiki export has no blank lines at all).
"""

from __future__ import annotations

import re

from footnote.ingest.footnotes import split_definition
from footnote.ingest.units import Loaded, Unit

_BULLET = re.compile(r"^\s*[-*+•·‣◦▪–]\s+(?=\S)")
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}[.)]|\(\d{1,3}\)|[a-z][.)])\s+(?=\S)")
# One unbounded part only: "(.*?)(?:\s+#+)?\s*$" was quadratic on a run of spaces ("# x" + 49,000 spaces).
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")
_MD_NOTE = re.compile(r"^\s{0,3}\[\^([^\]\s]+)\]:\s*(.*)$")
_TERMINAL = re.compile(r"[.!?:;。！？][\"'”’)\]]*$")


def load_text(text: str) -> Loaded:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").lstrip("\ufeff")
    text = text.replace("\u200b", "").replace("\u00ad", "")
    notes: dict[str, str] = {}
    lines = _take_md_notes(text.split("\n"), notes)
    units: list[Unit] = []
    marked = False
    for block in _blocks(lines):
        marked |= _block_units(block, units)
    return Loaded(units=units, notes=notes, marked_headings=marked)


def _take_md_notes(lines: list[str], notes: dict[str, str]) -> list[str]:
    """``[^3]: text`` (with indented continuation lines) is a footnote definition in any text file."""
    kept: list[str] = []
    current: str | None = None
    for line in lines:
        match = _MD_NOTE.match(line)
        if match:
            current = match.group(1)
            notes[current] = match.group(2).strip()
            continue
        if current is not None and line.startswith(("    ", "\t")) and line.strip():
            notes[current] = f"{notes[current]} {line.strip()}".strip()
            continue
        current = None
        kept.append(line)
    return kept


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _block_units(block: list[str], units: list[Unit]) -> bool:
    """Append the block's units; return True if it held a marked-up (``#``) heading."""
    width = max(len(line) for line in block)
    wrapped = width <= 120 and sum(len(line) >= 0.6 * width for line in block) >= 2
    marked = False
    open_unit: Unit | None = None
    prev_line = ""
    for line in block:
        stripped = line.strip()
        atx = _ATX.match(line)
        if atx and (heading := _atx_text(atx.group(2))):
            units.append(Unit(heading, kind="heading", level=len(atx.group(1))))
            marked, open_unit = True, None
        elif bullet := _BULLET.match(line):
            open_unit = Unit(line[bullet.end():].strip(), kind="item")
            units.append(open_unit)
        elif _NUMBERED.match(line):
            open_unit = Unit(stripped, kind="item")
            units.append(open_unit)
        elif split_definition(stripped) is not None and not (open_unit and _continues(prev_line, line)):
            open_unit = Unit(stripped)
            units.append(open_unit)
        elif open_unit is not None and _joins(prev_line, line, wrapped, width):
            open_unit.text = _join(open_unit.text, stripped)
        else:
            open_unit = Unit(stripped)
            units.append(open_unit)
        prev_line = stripped
    return marked


def _atx_text(text: str) -> str:
    """An ATX heading's text without its optional closing ``#`` run (which must follow a space)."""
    text = text.strip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1].isspace()):
        text = bare.rstrip()
    return text


def _continues(prev: str, line: str) -> bool:
    return bool(prev) and not _TERMINAL.search(prev) and line.strip()[:1].islower()


def _joins(prev: str, line: str, wrapped: bool, width: int) -> bool:
    """Does ``line`` continue the previous line's paragraph?"""
    if line.startswith(("    ", "\t")) and not wrapped:
        return True  # indented continuation of a list item
    first = line.strip()[:1]
    if first.islower() and not _TERMINAL.search(prev):
        return True
    if wrapped:
        return len(prev) >= 0.6 * width or not _TERMINAL.search(prev)
    return False


def _join(text: str, line: str) -> str:
    return f"{text} {line}" if text else line

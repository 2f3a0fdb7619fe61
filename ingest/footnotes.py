"""A document's own footnotes: definitions in the text, in-text markers, and their URLs."""

from __future__ import annotations

import re

from footnote.ingest.models import Citation
from footnote.ingest.units import MARK_CLOSE, MARK_OPEN, Unit

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPER_TO_DIGIT = str.maketrans(SUPERSCRIPTS, "0123456789")

# "12 Rapidus Corporation, ...", "¹ Ministry of ...", "[3] Source", or a loader's mark at line start.
# A plain number must be followed by a space (not "1." or "1)": those are numbered lists).
_DEFINITION = re.compile(
    rf"^(?:{MARK_OPEN}([^{MARK_CLOSE}]+){MARK_CLOSE}\s*|([{SUPERSCRIPTS}]+)\s*"
    r"|(\d{1,3})\s+|\[(\d{1,3})\]\s+)(?=\S)"
)
_URL = re.compile(r"<(https?://[^<>\s]+)>|(https?://[^\s<>\"”]+)")  # "<" ends it: linear
# Lines a PDF-to-text conversion leaves inside a footnote block: a bare domain, a page number.
_ARTIFACT = re.compile(r"^(?:[\w-]+(?:\.[\w-]+)+/?|\d{1,4})$")
# Bounded repeats keep the scan linear on hostile input (a run of "[^" or of private-use marks).
_INLINE = re.compile(
    rf"\*\*|\[\^([^\]\s]{{1,64}})\]|([{SUPERSCRIPTS}]+)|{MARK_OPEN}([^{MARK_CLOSE}]{{0,64}}){MARK_CLOSE}"
)
# Formats with real markup mark their own footnotes: only the loader's marks are markers there, and
# "**" or "[^x]" is the document's text (code, a regular expression).
_MARKS_ONLY = re.compile(rf"{MARK_OPEN}([^{MARK_CLOSE}]{{0,64}}){MARK_CLOSE}")


def superscript_to_digits(text: str) -> str:
    return text.translate(_SUPER_TO_DIGIT)


def split_definition(text: str) -> tuple[str, str] | None:
    """``(marker, note text)`` when a block reads like a footnote definition, else None."""
    match = _DEFINITION.match(text)
    if match is None:
        return None
    mark_, sup, plain, bracket = match.groups()
    marker = mark_ or (superscript_to_digits(sup) if sup else None) or plain or bracket or ""
    return marker, text[match.end():].strip()


def extract_definitions(units: list[Unit], notes: dict[str, str]) -> list[Unit]:
    """Remove footnote definition blocks from ``units`` (adding them to ``notes``); return the rest.

    A numbered block counts as a definition when it carries a URL, when it sits in a run of numbered
    blocks one of which does, or when the body has a marker with its number. Stray one-word lines
    inside such a run (a domain, a page number) are conversion artifacts and are dropped.
    """
    body_markers = _markers_in(units)
    shapes = [split_definition(u.text) if u.kind in ("text", "para") else None for u in units]
    accepted = [False] * len(units)
    index = 0
    while index < len(units):
        if shapes[index] is None:
            index += 1
            continue
        run = [index]
        probe = index + 1
        while probe < len(units):
            if shapes[probe] is not None:
                run.append(probe)
            elif not (_ARTIFACT.match(units[probe].text.strip()) and _next_shape(shapes, probe)):
                break
            probe += 1
        run_has_url = any(_URL.search(shape[1]) for shape in (shapes[i] for i in run) if shape)
        for i in run:
            marker, body = shapes[i] or ("", "")
            if run_has_url or marker in body_markers:
                accepted[i] = True
        index = probe
    kept: list[Unit] = []
    for i, unit in enumerate(units):
        shape = shapes[i]
        if accepted[i] and shape is not None:
            notes.setdefault(shape[0], shape[1])
        elif _is_artifact(units, accepted, i):
            continue
        else:
            kept.append(unit)
    return kept


def _next_shape(shapes: list[tuple[str, str] | None], index: int) -> bool:
    return index + 1 < len(shapes) and shapes[index + 1] is not None


def _is_artifact(units: list[Unit], accepted: list[bool], i: int) -> bool:
    if not _ARTIFACT.match(units[i].text.strip()):
        return False
    before = i > 0 and accepted[i - 1]
    after = i + 1 < len(units) and accepted[i + 1]
    return before or after


def _markers_in(units: list[Unit]) -> set[str]:
    found: set[str] = set()
    for unit in units:
        if split_definition(unit.text) is not None:
            continue
        for match in _INLINE.finditer(unit.text):
            bracket, sup, loader = match.group(1), match.group(2), match.group(3)
            if bracket or loader:
                found.add(bracket or loader)
            elif sup:
                found.add(superscript_to_digits(sup))
    return found


def clean_inline(text: str, known: set[str], plain: bool = True) -> tuple[str, list[tuple[int, str]]]:
    """Turn markers into (offset, marker) pairs. In plain text (``plain``) also strip ``**`` and read
    ``[^3]`` and known superscripts as markers; unknown superscripts stay as text. Elsewhere only the
    loader's own marks are markers."""
    out: list[str] = []
    markers: list[tuple[int, str]] = []
    length = 0
    last = 0
    if not plain:
        for match in _MARKS_ONLY.finditer(text):
            out.append(text[last:match.start()])
            length += match.start() - last
            last = match.end()
            markers.append((length, match.group(1)))
        out.append(text[last:])
        return "".join(out), markers
    for match in _INLINE.finditer(text):
        out.append(text[last:match.start()])
        length += match.start() - last
        last = match.end()
        bracket, sup, loader = match.group(1), match.group(2), match.group(3)
        marker = bracket or loader or (superscript_to_digits(sup) if sup else None)
        if marker is None:  # bold markup: dropped
            continue
        if sup and marker not in known:
            out.append(sup)
            length += len(sup)
            continue
        markers.append((length, marker))
    out.append(text[last:])
    return "".join(out), markers


def citation(marker: str, text: str) -> Citation:
    """A footnote from its definition text: URLs pulled out, ``<url>`` shown as the bare URL."""
    text = " ".join(text.replace("**", "").split())
    urls: list[str] = []
    for match in _URL.finditer(text):
        url = _trim_url(match.group(1) or match.group(2))
        if url not in urls:
            urls.append(url)
    shown = _URL.sub(lambda m: m.group(1) or m.group(2), text)
    return Citation(marker=marker, text=shown, urls=tuple(urls))


def _trim_url(url: str) -> str:
    url = url.rstrip(".,;>'\"”’")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(".,;")
    return url


def sort_key(marker: str) -> tuple[int, int | str]:
    return (0, int(marker)) if marker.isdigit() else (1, marker)

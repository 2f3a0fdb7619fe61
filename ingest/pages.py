"""The page map of a PDF: which words of the clean text stand where on the pages.

The loader hands over the printed lines in the order it read them, each with its words and their boxes.
The clean text was made from those lines, but changed on the way: footnote markers removed, hyphens
dropped, accents combined, table rows given their column names, footnote definitions moved after the
body, running headers left out. So the words are found in the text rather than counted: each word's
letters and digits (accents and case aside) are looked for a little after the previous word's match, and
a word that is not there (page furniture, a marker glued to a word, a repeated column name) is tried
without its trailing digits and else skipped. Footnote text, which the structure step appends after the
body, is looked for there.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from footnote.ingest.models import Section

Word = tuple[str, float, float, float, float]
# How far after the last match (in letters and digits) a printed line may be found: past a footnote block
# or a table, not as far as a later repetition of a short line.
_WINDOW = 3000
# How far before the last match a line may be found (text the loader joined out of reading order), and
# how far around it a single word of a line not found whole may be.
_BACK = 3000
_NEAR = 300
# A line shortened by a word is looked for only while this long (in letters and digits): shorter ones
# match by chance.
_MIN_LINE = 12


def _folded(text: str) -> list[tuple[str, int]]:
    """(character, index in ``text``) for each letter or digit, lower case, accents and ligatures off."""
    out: list[tuple[str, int]] = []
    for i, char in enumerate(text):
        if char.isascii():
            if char.isalnum():
                out.append((char.lower(), i))
            continue
        for part in unicodedata.normalize("NFKD", char):
            if part.isalnum():
                out.append((part.lower(), i))
    return out


class _Text:
    """The clean text's letters and digits, with the places already taken by a printed word."""

    def __init__(self, text: str) -> None:
        self.folded = _folded(text)
        self.key = "".join(c for c, _ in self.folded)
        self.taken = bytearray(len(self.key))

    def find(self, needle: str, lo: int, hi: int) -> int:
        """The first place of ``needle`` in ``[lo, hi)`` that no other word has taken, or -1."""
        lo, hi = max(0, lo), min(len(self.key), hi + len(needle))
        at = self.key.find(needle, lo, hi)
        while at >= 0 and any(self.taken[at:at + len(needle)]):
            at = self.key.find(needle, at + 1, hi)
        return at

    def take(self, at: int, length: int) -> tuple[int, int]:
        self.taken[at:at + length] = b"\x01" * length
        return self.folded[at][1], self.folded[at + length - 1][1] + 1


def align(text: str, lines: list[tuple[int, list[Word], str]], sections: tuple[Section, ...] = (),
          page_sizes: list[tuple[float, float]] | None = None) -> dict[str, Any]:
    """The page map of ``text``: ``{"pages", "sizes", "words": [[start, end, page, x0, y0, x1, y1], ...]}``
    with ``start``/``end`` offsets into ``text``, sorted and not overlapping.

    A printed line is looked for whole (its words' letters and digits run together) near where the last
    line was found, first after it, then a little before it (text read out of order, such as a masthead
    between a paragraph and its continuation), then among the footnotes after the body; failing that,
    without its first word (a footnote's number) or its last. A table, whose rows the text gives column
    names, is placed word by word, each a little after the one before. Anything else not found (page
    furniture, a citation-only footnote) is left out.
    """
    body = _Text(text)
    notes_at = min((s.start for s in sections if s.path and s.path[-1].startswith("footnote ")), default=len(text))
    notes_start = next((k for k, (_, i) in enumerate(body.folded) if i >= notes_at), len(body.key))
    cursor, notes_cursor = 0, notes_start
    found: list[list[Any]] = []

    def place(at: int, needle: str, page: int, box: tuple[float, float, float, float]) -> None:
        start, end = body.take(at, len(needle))
        found.append([start, end, page, *(round(v, 2) for v in box)])

    def locate(whole: str) -> int:
        limit = notes_start if cursor < notes_start else len(body.key)
        at = body.find(whole, cursor, min(limit, cursor + _WINDOW))
        if at < 0:
            at = body.find(whole, cursor - _BACK, cursor)
        if at < 0 and notes_start < len(body.key):
            at = body.find(whole, notes_cursor, notes_cursor + _WINDOW)
        return at

    for page, words, table in lines:
        keys = [("".join(c for c, _ in _folded(w[0])), w) for w in words]
        keys = [(k, w) for k, w in keys if k]
        if not keys:
            continue
        if not table:
            for part in (keys, keys[1:], keys[:-1]):
                whole = "".join(k for k, _ in part)
                at = locate(whole) if len(whole) >= _MIN_LINE or part is keys else -1
                if at < 0:
                    continue
                for k, w in part:
                    place(at, k, page, w[1:])
                    at += len(k)
                if at - len(whole) >= notes_start:
                    notes_cursor = max(notes_cursor, at)
                else:
                    cursor = max(cursor, at)
                break
            continue
        # A table: word by word, each a little after the one before (a row's column names between), and
        # never past the table's own text, which starts where its first row is found.
        first = "".join(c for c, _ in _folded(table.split("\n", 1)[0]))[:_MIN_LINE]
        begin = body.find(first, cursor, cursor + _WINDOW) if first else -1
        if begin < 0:
            continue
        stop = begin + len("".join(c for c, _ in _folded(table)))
        here = begin
        for k, w in keys:
            at = body.find(k, here, min(stop, here + _NEAR) - len(k))
            if at < 0:
                continue
            place(at, k, page, w[1:])
            here = at + len(k)
        cursor = max(cursor, stop)
    found.sort(key=lambda w: (w[0], w[1]))
    sizes = page_sizes or []
    return {"pages": len(sizes), "sizes": [[round(w, 2), round(h, 2)] for w, h in sizes], "words": found}

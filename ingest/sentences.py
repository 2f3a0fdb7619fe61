"""Sentence spans in clean text: every line break ends a sentence (list items, headings), and inside
a line a sentence ends at . ! ? followed by space and a capital, digit or opening quote, unless the
word before the period is an abbreviation (e.g., U.S., ex., Co., Fig. 3)."""

from __future__ import annotations

import re

# A run of end marks is tried from its first mark only (the lookbehind): trying it again from every mark made
# a long run of "!" not followed by a space quadratic.
_END = re.compile(r"(?:(?<![.!?])[.!?]+[\"'”’)\]]*(?=\s+(?P<next>\S))|[。！？]+[」』）]*)")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st vs e.g eg i.e ie ex cf ca approx dept corp inc ltd co est gov govt univ
    jan feb mar apr jun jul aug sep sept oct nov dec mt ft rev op ed eds resp incl viz et al""".split()
)
# Abbreviations that stand before a number: "No. 5", "Fig. 3", "pp. 12".
_BEFORE_NUMBER = frozenset("no nos vol vols p pp fig figs art sec ch eq ref refs".split())
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?$|^[A-Z]$")
# "1. Strengthening ...", "a. First ...", "iv. Then ...": the number of a list item, not a sentence.
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,3}|[A-Za-z]|[ivxlcIVXLC]{1,6})$")
_OPENERS = "\"'“‘([「『-•"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Absolute (start, end) spans of the sentences in ``text[start:end]``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    line_start = start
    while line_start < end:
        line_end = text.find("\n", line_start, end)
        if line_end == -1:
            line_end = end
        _split_line(text, line_start, line_end, spans)
        line_start = line_end + 1
    return spans


def _split_line(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Linear in the line: what is looked at before a period is its last word (back to the previous space,
    which lies after the previous match) and, for an enumerator, at most 6 characters after the sentence's
    leading spaces (found once per sentence); never the whole sentence so far ("Mr. A" repeated was quadratic)."""
    line = text[start:end]
    cut = 0
    lead = 0  # the first non-space character at or after ``cut``
    for match in _END.finditer(line):
        nxt = match.group("next")
        if nxt is not None and not _starts_sentence(nxt):
            continue
        stop = match.start()
        if line[stop] == ".":
            lead = max(lead, cut)
            while lead < stop and line[lead].isspace():
                lead += 1
            if (stop - lead <= 6 and _ENUMERATOR.match(line[lead:stop])) or _is_abbreviation(
                    _last_word(line, cut, stop), nxt):
                continue
        _add(spans, start + cut, start + match.end(), text)
        cut = match.end()
    _add(spans, start + cut, end, text)


def _last_word(line: str, cut: int, stop: int) -> str:
    """The non-space characters right before ``stop`` (not before ``cut``): "" when a space is right before."""
    begin = stop
    while begin > cut and not line[begin - 1].isspace():
        begin -= 1
    return line[begin:stop]


def _starts_sentence(char: str) -> bool:
    return char.isupper() or char.isdigit() or char in _OPENERS or (char.isalpha() and not char.islower())


def _is_abbreviation(last: str, nxt: str | None) -> bool:
    if not last:
        return False
    word = last.lstrip("\"'“‘([")
    low = word.lower()
    if low in _ABBREVIATIONS or _DOTTED.match(word):
        return True
    return low in _BEFORE_NUMBER and nxt is not None and nxt.isdigit()


def _add(spans: list[tuple[int, int]], start: int, end: int, text: str) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))

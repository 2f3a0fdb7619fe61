"""Document -> passages: whole sentences, one section at a time, within a token budget.

The budget is in cl100k_base tokens. Independently of it, no passage may exceed the embedding model's
256 word pieces (it would silently drop the rest), so a sentence too long for either limit is cut at
word boundaries into pieces that fit.
"""

from __future__ import annotations

import re

from footnote.ingest.models import Document, Passage, Section
from footnote.ingest.sentences import sentence_spans
from footnote.ingest.tokens import MAX_WORD_PIECES, count_tokens, count_word_pieces

_WORD = re.compile(r"\S+")


def chunk(document: Document, budget: int = 160, overlap: int = 0) -> list[Passage]:
    """Sentence-aware, token-budgeted passages that never cross a section boundary.

    ``overlap`` repeats the last N sentences of a passage at the start of the next one (same section).
    """
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    if overlap < 0:
        raise ValueError("overlap must be 0 or more sentences")
    passages: list[Passage] = []
    for section in document.sections or (Section((document.title,), 0, len(document.text)),):
        spans = _fitted(document.text, _body_sentences(document.text, section), budget)
        for start, end, sentences in _group(document.text, spans, budget, overlap):
            passages.append(
                Passage(
                    id=f"{document.doc_id}-{len(passages):04d}",
                    doc_id=document.doc_id,
                    title=document.title,
                    section=section.path,
                    text=document.text[start:end],
                    start=start,
                    end=end,
                    tokens=count_tokens(document.text[start:end]),
                    citations=document.citations_between(start, end),
                    sentences=tuple(sentences),
                )
            )
    return passages


def _body_sentences(text: str, section: Section) -> list[tuple[int, int]]:
    """The section's sentences, without its heading line (which the passage's ``section`` names)."""
    start = section.start
    first_line_end = text.find("\n", start, section.end)
    first_line_end = section.end if first_line_end == -1 else first_line_end
    if text[start:first_line_end].strip() == section.path[-1]:
        start = first_line_end
    return sentence_spans(text, start, section.end)


def _fits(text: str, budget: int) -> bool:
    return count_tokens(text) <= budget and count_word_pieces(text) <= MAX_WORD_PIECES


def _fitted(text: str, spans: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
    """Split any sentence that alone breaks a limit at word boundaries."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if _fits(text[start:end], budget):
            out.append((start, end))
        else:
            out.extend(_split_long(text, start, end, budget))
    return out


def _split_long(text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        # Largest j with words[i:j] fitting; binary search keeps this fast for very long "sentences".
        lo, hi = i + 1, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(text[words[i][0]:words[mid - 1][1]], budget):
                lo = mid
            else:
                hi = mid - 1
        first, last = words[i][0], words[lo - 1][1]
        if lo == i + 1 and not _fits(text[first:last], budget):
            pieces.extend(_split_word(text, first, last, budget))  # one "word" over the limit (a long URL)
        else:
            pieces.append((first, last))
        i = lo
    return pieces


def _split_word(text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    while start < end:
        lo, hi = start + 1, end
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(text[start:mid], budget):
                lo = mid
            else:
                hi = mid - 1
        pieces.append((start, lo))
        start = lo
    return pieces


def _group(
    text: str, spans: list[tuple[int, int]], budget: int, overlap: int
) -> list[tuple[int, int, list[tuple[int, int]]]]:
    groups: list[tuple[int, int, list[tuple[int, int]]]] = []
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and _fits(text[spans[i][0]:spans[j][1]], budget):
            j += 1
        groups.append((spans[i][0], spans[j - 1][1], spans[i:j]))
        if j >= len(spans):
            break
        # Step back ``overlap`` sentences, but always move forward by at least one.
        i = max(j - overlap, i + 1)
    return groups

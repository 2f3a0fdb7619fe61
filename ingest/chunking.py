"""Document -> passages: whole sentences, one section at a time, within a token budget.

The budget is in cl100k_base tokens. Independently of it, no passage may exceed the word pieces the
configured embedding model reads (256 for all-MiniLM-L6-v2; it would silently drop the rest), so a
sentence too long for either limit is cut at word boundaries into pieces that fit.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from footnote.ingest.models import Document, Passage, Section
from footnote.ingest.sentences import sentence_spans
from footnote.ingest.tokens import WordPieces, count_tokens

_WORD = re.compile(r"\S+")


def chunk(document: Document, budget: int = 160, overlap: int = 0,
          word_pieces: WordPieces | None = None) -> list[Passage]:
    """Sentence-aware, token-budgeted passages that never cross a section boundary.

    ``overlap`` repeats the last N sentences of a passage at the start of the next one (same section).
    ``word_pieces``: the embedding model's tokenizer and limit (default: the packaged all-MiniLM-L6-v2).
    """
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    if overlap < 0:
        raise ValueError("overlap must be 0 or more sentences")
    limit = _Limit(budget, word_pieces or WordPieces())
    passages: list[Passage] = []
    for section in document.sections or (Section((document.title,), 0, len(document.text)),):
        spans = _fitted(document.text, _body_sentences(document.text, section), limit)
        for start, end, sentences in _group(document.text, spans, limit, overlap):
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


@dataclass(frozen=True)
class _Limit:
    budget: int
    word_pieces: WordPieces

    def fits(self, text: str) -> bool:
        return count_tokens(text) <= self.budget and self.word_pieces.count(text) <= self.word_pieces.limit

    @property
    def max_words(self) -> int:
        """Most words a fitting piece can hold: every word is at least one token and one word piece."""
        return max(1, min(self.budget, self.word_pieces.limit))

    @property
    def max_chars(self) -> int:
        """Most characters a fitting piece can hold: ``budget`` tokens of the longest cl100k token."""
        return self.budget * _longest_token()


@lru_cache(maxsize=1)
def _longest_token() -> int:
    """Characters in cl100k_base's longest token (its bytes, an upper bound on its characters)."""
    from footnote.ingest.tokens import _encoding

    return max(len(token) for token in _encoding().token_byte_values())


def _fitted(text: str, spans: list[tuple[int, int]], limit: _Limit) -> list[tuple[int, int]]:
    """Split any sentence that alone breaks a limit at word boundaries."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if limit.fits(text[start:end]):
            out.append((start, end))
        else:
            out.extend(_split_long(text, start, end, limit))
    return out


def _split_long(text: str, start: int, end: int, limit: _Limit) -> list[tuple[int, int]]:
    """Pieces of as many whole words as fit. Linear in the sentence: a piece is searched for (binary search)
    only among the next ``max_words`` words within ``max_chars``, which no fitting piece exceeds, so each
    word is counted a bounded number of times (the search over the whole rest made a 49 MB line quadratic)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        # Largest j with words[i:j] fitting.
        lo, hi = i + 1, min(len(words), i + limit.max_words)
        if hi > lo and words[hi - 1][1] - words[i][0] > limit.max_chars:
            hi = max(lo, bisect_right(words, words[i][0] + limit.max_chars, lo, hi, key=lambda w: w[1]))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if limit.fits(text[words[i][0]:words[mid - 1][1]]):
                lo = mid
            else:
                hi = mid - 1
        first, last = words[i][0], words[lo - 1][1]
        if lo == i + 1 and not limit.fits(text[first:last]):
            pieces.extend(_split_word(text, first, last, limit))  # one "word" over the limit (a long URL)
        else:
            pieces.append((first, last))
        i = lo
    return pieces


def _split_word(text: str, start: int, end: int, limit: _Limit) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    while start < end:
        lo, hi = start + 1, min(end, start + limit.max_chars)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if limit.fits(text[start:mid]):
                lo = mid
            else:
                hi = mid - 1
        pieces.append((start, lo))
        start = lo
    return pieces


def _group(
    text: str, spans: list[tuple[int, int]], limit: _Limit, overlap: int
) -> list[tuple[int, int, list[tuple[int, int]]]]:
    groups: list[tuple[int, int, list[tuple[int, int]]]] = []
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and limit.fits(text[spans[i][0]:spans[j][1]]):
            j += 1
        groups.append((spans[i][0], spans[j - 1][1], spans[i:j]))
        if j >= len(spans):
            break
        # Step back ``overlap`` sentences, but always move forward by at least one.
        i = max(j - overlap, i + 1)
    return groups

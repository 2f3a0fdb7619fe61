"""What each index sees of a passage, and the one text analyzer used for passages, queries and questions.

Both indexes see the passage's title and section path, its text, and the texts of the footnotes it
cites, so "which press release is cited for ..." finds the passage whose footnote matches. Markdown
emphasis and Unicode compatibility forms (ligatures, full-width letters, superscripts) are normalized;
BM25, the answer step and the follow-up rewriter read text through one ``Analyzer``: accents folded, English
stop words dropped, Snowball English stems.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

from footnote.ingest.models import Passage

_EMPHASIS = re.compile(r"(\*\*|__|`)")
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_URL_PUNCT = re.compile(r"[/._\-?=&#:%~+]+")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")

_local = threading.local()


def normalize(text: str) -> str:
    """NFKC, no Markdown emphasis markers, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _EMPHASIS.sub("", text)
    return _SPACE.sub(" ", text).strip()


def heading(p: Passage) -> str:
    return " > ".join(part for part in (p.title, *p.section) if part)


def dense_text(p: Passage) -> str:
    """What the embedding model reads: the passage, its heading, then cited sources without URLs.

    The model keeps only its first 256 word pieces and ingest sizes passages to fit, so the passage
    comes first and whatever gets cut is the tail of the sources; long URLs (many word pieces, little
    meaning) are left out.
    """
    parts = [normalize(p.text), heading(p)]
    notes = [normalize(_URL.sub("", c.text)).rstrip(" ,.") for c in p.citations]
    notes = [n for n in notes if n]
    if notes:
        parts.append("Sources: " + "; ".join(notes))
    return "\n".join(part for part in parts if part)


def lexical_text(p: Passage) -> str:
    """What BM25 reads: heading, passage, cited sources with their URLs split into words."""
    parts = [heading(p), p.text]
    for c in p.citations:
        parts.append(c.text)
        parts.extend(u for u in c.urls if u not in c.text)
    return "\n".join(parts)


_STOPWORDS: frozenset[str] | None = None


def _bm25_stop_words() -> frozenset[str]:
    global _STOPWORDS
    if _STOPWORDS is None:
        from bm25s.stopwords import STOPWORDS_EN

        _STOPWORDS = frozenset(STOPWORDS_EN)
    return _STOPWORDS


def fold(text: str) -> str:
    """Lower case, compatibility forms and accents folded, URL punctuation turned into spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _URL.sub(lambda m: " " + _URL_PUNCT.sub(" ", m.group(0)) + " ", text)


class Analyzer:
    """Text to terms, the one way: folded words of two or more word characters, stop words dropped, stemmed.

    ``analyzer`` (BM25's stop words) indexes passages and queries. The answer step builds its own with the
    words that ask rather than name a topic also dropped (``service.answering.question``); both give the
    stems BM25 indexed, so ``Index.idf(term)`` weighs them.
    """

    def __init__(self, extra_stop_words: frozenset[str] = frozenset()) -> None:
        self._extra = frozenset(fold(w) for w in extra_stop_words)
        self._stop: frozenset[str] | None = None

    @property
    def stop_words(self) -> frozenset[str]:
        if self._stop is None:
            self._stop = _bm25_stop_words() | self._extra
        return self._stop

    def words(self, text: str) -> list[str]:
        """Folded words in order, stop words kept, not stemmed."""
        return _TOKEN.findall(fold(text))

    def terms(self, text: str) -> list[str]:
        """Stemmed words, stop words dropped, in order, duplicates kept."""
        stop = self.stop_words
        words = [w for w in self.words(text) if w not in stop]
        return list(_stemmer().stemWords(words)) if words else []


def _stemmer() -> Any:  # PyStemmer has no type stubs; one per thread (it is not thread-safe)
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


analyzer = Analyzer()

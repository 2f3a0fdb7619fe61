"""What each index sees of a passage, and the one BM25 tokenizer used for passages and queries alike.

Both indexes see the passage's title and section path, its text, and the texts of the footnotes it
cites, so "which press release is cited for ..." finds the passage whose footnote matches. Markdown
emphasis and Unicode compatibility forms (ligatures, full-width letters, superscripts) are normalized;
BM25 additionally folds accents, drops English stop words and applies the Snowball English stemmer.
"""

from __future__ import annotations

import re
import threading
import unicodedata

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


def _stemmer():  # noqa: ANN202 - PyStemmer has no type stubs
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def _stopwords() -> frozenset[str]:
    global _STOPWORDS
    if _STOPWORDS is None:
        from bm25s.stopwords import STOPWORDS_EN

        _STOPWORDS = frozenset(STOPWORDS_EN)
    return _STOPWORDS


_STOPWORDS: frozenset[str] | None = None


def fold(text: str) -> str:
    """Lower case, compatibility forms and accents folded, URL punctuation turned into spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _URL.sub(lambda m: " " + _URL_PUNCT.sub(" ", m.group(0)) + " ", text)


def bm25_tokens(text: str) -> list[str]:
    """Stemmed, stop-word-free tokens of two or more word characters."""
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(fold(text)) if w not in stop]
    return list(_stemmer().stemWords(words)) if words else []

"""Small lexical helpers shared by the answer step and the follow-up rewriter: terms, stems, IDF."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

# English function words plus question words: they carry no topic.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves tell give list show describe explain please does did
    according document documents report article mention mentioned say says said kind sort way ways
    whose much many
    """.split()
)

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*[A-Za-z0-9]|[A-Za-z]|\d+(?:[.,]\d+)*[A-Za-z]*")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, possessives dropped."""
    out = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        out.append(word)
    return out


def terms(text: str) -> list[str]:
    """Stemmed content terms (stop words removed), in order, duplicates kept."""
    content = [w for w in words(text) if w not in STOP_WORDS]
    return _stemmer().stemWords(content) if content else []


class Idf:
    """Inverse document frequency over a set of texts; unseen terms weigh as much as the rarest."""

    def __init__(self, texts: Iterable[str]) -> None:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            df.update(set(terms(text)))
        self.n = max(n, 1)
        self._df = df
        self.max_idf = math.log(1 + self.n / 0.5)
        # A term in a quarter or more of the texts is too common to name a topic.
        self.common = math.log(1 + 4)

    def __call__(self, term: str) -> float:
        df = self._df.get(term, 0)
        if df == 0:
            return self.max_idf
        return math.log(1 + self.n / df)

    def known(self, term: str) -> bool:
        return term in self._df


def coverage(query_terms: Iterable[str], text_terms: set[str], idf: Idf) -> float:
    """IDF-weighted share of the query's distinct terms that the text contains (0..1)."""
    distinct = set(query_terms)
    if not distinct:
        return 0.0
    total = sum(idf(t) for t in distinct)
    hit = sum(idf(t) for t in distinct if t in text_terms)
    return hit / total if total else 0.0

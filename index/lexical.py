"""Lexical retrieval: BM25 (bm25s, Lucene variant) over stemmed, stop-word-free tokens.

Scoring reads bm25s's precomputed sparse matrix directly (one ``bincount`` over the query terms'
posting lists) so a query over 100k passages stays around a millisecond.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footnote.index.hits import Hit
from footnote.index.text import analyzer
from footnote.ingest.models import Passage

BM25_PARAMS: dict[str, Any] = {"method": "lucene", "k1": 1.5, "b": 0.75}
# What a manifest records of how its bm25/ was built (index.text.analyzer makes the tokens).
BM25_RECIPE: dict[str, Any] = {"library": "bm25s", **BM25_PARAMS,
                               "tokens": "nfkd-fold, \\w\\w+, bm25s english stop words, snowball english"}


def build_bm25(texts: Sequence[str]) -> Any:
    """A bm25s index whose document ``i`` is ``texts[i]``."""
    import bm25s

    # bm25s needs at least one token per document to build its vocabulary; "" never matches a query.
    corpus = [analyzer.terms(t) or [""] for t in texts]
    model = bm25s.BM25(**BM25_PARAMS)
    model.index(corpus, show_progress=False)
    return model


def save_bm25(model: Any, folder: Path) -> None:
    model.save(str(folder), allow_pickle=False, show_progress=False)


def load_bm25(folder: Path) -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.ERROR)
    return bm25s.BM25.load(str(folder), allow_pickle=False, load_corpus=False, show_progress=False)


class BM25Retriever:
    """Passages ranked by BM25 over their text, heading and cited sources."""

    def __init__(self, model: Any, passages: Sequence[Passage]) -> None:
        self.model = model
        self.passages = passages
        s = model.scores
        self._data = np.asarray(s["data"])
        self._indices = np.asarray(s["indices"])
        self._indptr = np.asarray(s["indptr"])
        self._n = int(s["num_docs"])
        self._vocab: dict[str, int] = model.vocab_dict

    def idf(self, term: str) -> float:
        """BM25's (Lucene's) inverse document frequency of an analyzed term; unseen terms weigh the most."""
        df = self.df(term)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def df(self, term: str) -> int:
        """How many passages contain the analyzed term."""
        col = self._vocab.get(term)
        # bm25s's vocabulary may end with the empty token of empty passages, which has no column.
        if col is None or col + 1 >= len(self._indptr):
            return 0
        return int(self._indptr[col + 1] - self._indptr[col])

    def search(self, query: str, k: int, query_vector: np.ndarray | None = None) -> list[Hit]:
        rows, scores = self.search_rows(query, k)
        return [Hit(self.passages[r], s) for r, s in zip(rows, scores, strict=True)]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no query term is in the index)."""
        ids = [self._vocab[t] for t in analyzer.terms(query) if t in self._vocab]
        if not ids:
            return np.zeros(self._n, dtype=np.float32)
        starts = self._indptr[ids]
        ends = self._indptr[np.asarray(ids) + 1]
        docs = np.concatenate([self._indices[a:b] for a, b in zip(starts, ends, strict=True)])
        weights = np.concatenate([self._data[a:b] for a, b in zip(starts, ends, strict=True)])
        return np.bincount(docs, weights=weights, minlength=self._n).astype(np.float32, copy=False)

    def search_rows(self, query: str, k: int) -> tuple[list[int], list[float]]:
        """Row numbers and scores of the best ``k`` passages with a positive score."""
        scores = self.scores(query)
        k = min(int(k), self._n)
        if k <= 0:
            return [], []
        if k < self._n:
            # Ties at the cut go to the lower rows too (argpartition picks among them arbitrarily), so the
            # top k is a prefix of any longer top list: hybrid fusion over a deeper list ranks the same.
            kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
            above = np.flatnonzero(scores > kth)
            top = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
        else:
            top = np.arange(self._n)
        top = top[np.lexsort((top, -scores[top]))]  # ties: lower row first, deterministic
        rows = [int(r) for r in top if scores[r] > 0]
        return rows, [float(scores[r]) for r in rows]

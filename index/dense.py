"""Dense retrieval with FAISS: exact inner product for small corpora, HNSW above a measured threshold.

Vectors are unit length, so inner product is cosine similarity. FAISS row ``i`` is ``Index.passages[i]``
(the order of ``passages.jsonl``); nothing else maps rows to passages. ``index.vectors.FaissStore`` writes
and opens the index; ``DenseRetriever`` searches any store's ``Vectors``.

The threshold and HNSW parameters come from ``benchmarks/bench_index.py`` (docs/benchmarks.md, Index) on the
2-core machine: an exact scan costs about 0.06 ms per 1,000 vectors for one query (0.3 ms at 10k, 6.4 ms
at 100k, 59 ms at 1M), so below ``HNSW_THRESHOLD`` it stays under ~2 ms and hybrid search well under its
5 ms budget. Above it, HNSW (M=32) answers in well under a millisecond; ``efSearch`` grows with the index
so recall@10 against the exact scan stays >= 0.95 (0.98 at 100k with 128; 1M needs 384).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from footnote.index.hits import Hit
from footnote.ingest.models import Passage

HNSW_THRESHOLD = 30_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128  # up to HNSW_LARGE vectors
HNSW_EF_SEARCH_LARGE = 384
HNSW_LARGE = 300_000
KINDS = ("auto", "flat", "hnsw")


def choose_kind(n: int, kind: str = "auto") -> str:
    if kind not in KINDS:
        raise ValueError(f"dense index kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind != "auto":
        return kind
    return "hnsw" if n >= HNSW_THRESHOLD else "flat"


def ef_search_for(n: int) -> int:
    """The HNSW ``efSearch`` that keeps recall@10 >= 0.95 at ``n`` vectors (measured, see module doc)."""
    return HNSW_EF_SEARCH if n <= HNSW_LARGE else HNSW_EF_SEARCH_LARGE


def build_faiss(vectors: np.ndarray, kind: str = "auto", *, m: int = HNSW_M,
                ef_construction: int = HNSW_EF_CONSTRUCTION,
                ef_search: int | None = None) -> tuple[Any, dict[str, Any]]:
    """A FAISS index over ``vectors`` (rows in passage order) and the params the manifest records."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    chosen = choose_kind(len(vectors), kind)
    index: Any
    if chosen == "flat":
        index = faiss.IndexFlatIP(dim)
        params: dict[str, Any] = {"kind": "flat", "metric": "ip"}
    else:
        ef_search = ef_search or ef_search_for(len(vectors))
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
        params = {"kind": "hnsw", "metric": "ip", "M": m, "ef_construction": ef_construction,
                  "ef_search": ef_search}
    if len(vectors):
        index.add(vectors)
    return index, params


class Vectors(Protocol):
    """One version's passage vectors, open for search in whichever store holds them (``index.vectors``)."""

    count: int
    dim: int

    def search_rows(self, vector: np.ndarray, k: int, ef_search: int | None = None) -> tuple[list[int], list[float]]:
        """Rows and cosine scores of the ``k`` nearest passages, best first."""
        ...


class DenseRetriever:
    """Nearest passages by cosine similarity of the query embedding, in whichever store holds the vectors."""

    def __init__(self, vectors: Vectors, passages: Sequence[Passage],
                 embed_query: Callable[[str], np.ndarray], *, ef_search: int | None = None) -> None:
        self.vectors = vectors
        self.passages = passages
        self.embed_query = embed_query
        self.ef_search = ef_search  # None: what the store was built with

    def search(self, query: str, k: int, query_vector: np.ndarray | None = None) -> list[Hit]:
        vec = self.embed_query(query) if query_vector is None else query_vector
        return self.search_vector(vec, k)

    def search_vector(self, vec: np.ndarray, k: int) -> list[Hit]:
        """The ``k`` passages nearest to a unit query vector."""
        rows, scores = self.search_rows(vec, k)
        return [Hit(self.passages[r], s) for r, s in zip(rows, scores, strict=True)]

    def search_rows(self, vec: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        """Row numbers and scores, best first (what hybrid fusion needs, without building Hits)."""
        return self.vectors.search_rows(vec, k, self.ef_search)

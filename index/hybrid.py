"""Hybrid retrieval: reciprocal-rank fusion of dense and BM25 rankings (the default mode).

``score(p) = dense_weight / (k0 + rank_dense(p)) + bm25_weight / (k0 + rank_bm25(p))`` over the top
``depth`` of each ranking (ranks from 1; a passage missing from a ranking gets nothing from it).
RRF needs no score calibration between the two very different scales; the weights, ``k0`` and ``depth``
are parameters so the eval can tune them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footnote.index.dense import DenseRetriever
from footnote.index.hits import Hit
from footnote.index.lexical import BM25Retriever


@dataclass(frozen=True)
class FusionParams:
    k0: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    depth: int = 50


class HybridRetriever:
    """Dense + BM25, fused by weighted reciprocal rank."""

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, params: FusionParams | None = None) -> None:
        self.dense = dense
        self.bm25 = bm25
        self.params = params or FusionParams()
        self.passages = dense.passages

    def search(self, query: str, k: int, query_vector: np.ndarray | None = None) -> list[Hit]:
        p = self.params
        depth = max(int(k), p.depth)
        fused: dict[int, float] = {}
        if p.dense_weight:
            vec = self.dense.embed_query(query) if query_vector is None else query_vector
            rows, _ = self.dense.search_rows(vec, depth)
            for rank, row in enumerate(rows, 1):
                fused[row] = fused.get(row, 0.0) + p.dense_weight / (p.k0 + rank)
        if p.bm25_weight:
            rows, _ = self.bm25.search_rows(query, depth)
            for rank, row in enumerate(rows, 1):
                fused[row] = fused.get(row, 0.0) + p.bm25_weight / (p.k0 + rank)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: int(k)]
        return [Hit(self.passages[row], score) for row, score in best]

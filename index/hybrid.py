"""Hybrid retrieval: dense and BM25 rankings fused by a convex combination of scores or by reciprocal rank.

Both fusions work on the top ``depth`` of each ranking (a passage missing from one gets nothing from it):

- ``convex`` (the default for an index, weights fitted at ingest by ``index.fit``):
  ``score(p) = dense_weight * norm(cos(p)) + bm25_weight * norm(bm25(p))``, each list min-max normalised
  between its best and its ``depth``-th score, so ``k`` never changes the order (Bruch, Gai and Ingber
  2023, "An Analysis of Fusion Functions for Hybrid Retrieval").
  With ``dense_weight == 0`` the model is never run and the ranking is BM25's.
- ``rrf``: ``score(p) = dense_weight / (k0 + rank_dense(p)) + bm25_weight / (k0 + rank_bm25(p))`` (ranks
  from 1), the fixed fusion Footnote shipped first; no calibration, but blind to how good each list is.

``sentences``: a passage's dense score is the better of its whole-passage cosine and its best sentence's
(the stored sentence vectors), for the dense top ``depth``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

from footnote.index.dense import DenseRetriever
from footnote.index.hits import Hit
from footnote.index.lexical import BM25Retriever
from footnote.settings import Settings, fusion_weights

Method = Literal["rrf", "convex"]
METHODS: tuple[str, ...] = ("rrf", "convex")


@dataclass(frozen=True)
class FusionParams:
    k0: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    depth: int = 50
    method: Method = "rrf"
    sentences: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> FusionParams:
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        params = cls(**known)
        if params.method not in METHODS:
            raise ValueError(f"unknown fusion method {params.method!r}")
        return params

    def describe(self) -> str:
        if self.method == "rrf":
            return f"rrf k0={self.k0:g} dense:bm25={self.dense_weight:g}:{self.bm25_weight:g}"
        return f"convex dense {self.dense_weight:.2f} + bm25 {self.bm25_weight:.2f} (min-max)"


@dataclass(frozen=True)
class FusionFit:
    """The manifest's ``fusion``: the params fitted at ingest (``index.fit``) and the evidence behind them."""

    params: FusionParams
    fitted: bool
    seed: int
    method: str
    pseudo_queries: int
    passages: int
    evidence: dict[str, Any] | None = None  # per retriever hit@1/hit@10/MRR@10, the grid of weights tried
    why: str | None = None  # why not fitted
    changed_since_fit: int = 0  # passages new or gone since the fit, across updates
    documents: int = 0  # documents the fit was made on (0: a fit from before they were counted)
    documents_changed_since_fit: int = 0  # documents new, changed or gone since the fit, across updates

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = self.params.to_dict()
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> FusionFit:
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        known["params"] = FusionParams.from_dict(row["params"])
        return cls(**known)

    def replace(self, **changes: Any) -> FusionFit:
        return dataclasses.replace(self, **changes)


def pinned(value: str) -> FusionParams | None:
    """``Settings.fusion`` as params: None for ``auto`` (use the weights fitted at ingest), the fixed
    reciprocal-rank fusion for ``rrf``, or fixed convex weights (``footnote.settings.fusion_weights``).
    Raises ``ValueError`` naming what is wrong."""
    weights = fusion_weights(value)
    if weights is None:
        return None
    if isinstance(weights, str):  # "rrf"
        return FusionParams()
    dense, bm25 = weights
    return FusionParams(method="convex", dense_weight=dense, bm25_weight=bm25)


def fusion_from_settings(settings: Settings) -> FusionParams | None:
    """The hybrid fusion ``FOOTNOTE_FUSION`` pins, with its knobs, or None: the one fitted at ingest."""
    params = pinned(settings.fusion)
    if params is None:
        return None
    if params.method == "rrf":
        return replace(params, k0=settings.fusion_k0, dense_weight=settings.fusion_dense_weight,
                       bm25_weight=settings.fusion_bm25_weight, depth=settings.fusion_depth)
    return replace(params, depth=settings.fusion_depth)


def minmax(scores: np.ndarray, depth: int) -> np.ndarray:
    """Best-first scores mapped to [0, 1] between the best and the ``depth``-th (below it: 0), so a
    longer list (a larger ``k``) leaves the top ``depth`` as it was; equal scores map to 1."""
    if not len(scores):
        return scores
    lo, hi = float(scores[min(depth, len(scores)) - 1]), float(scores[0])
    if hi - lo <= 1e-12:
        return np.where(scores >= hi, 1.0, 0.0)
    return np.clip((scores - lo) / (hi - lo), 0.0, None)


def fuse(dense: tuple[Sequence[int], Sequence[float]], bm25: tuple[Sequence[int], Sequence[float]],
         params: FusionParams, k: int) -> list[tuple[int, float]]:
    """The best ``k`` (row, fused score) of two (rows, scores) lists, best first; ties: lower row first."""
    fused: dict[int, float] = {}
    for (rows, scores), weight in ((dense, params.dense_weight), (bm25, params.bm25_weight)):
        if not weight or not len(rows):
            continue
        if params.method == "rrf":
            contrib = [weight / (params.k0 + rank) for rank in range(1, len(rows) + 1)]
        else:
            contrib = (weight * minmax(np.asarray(scores, dtype=np.float64), params.depth)).tolist()
        for row, c in zip(rows, contrib, strict=True):
            fused[row] = fused.get(row, 0.0) + c
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: int(k)]


class HybridRetriever:
    """Dense + BM25, fused as ``params`` says (see the module doc)."""

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, params: FusionParams | None = None,
                 sentence_scores: Callable[[list[int], np.ndarray], np.ndarray] | None = None) -> None:
        self.dense = dense
        self.bm25 = bm25
        self.params = params or FusionParams()
        self.passages = dense.passages
        # (rows, query vector) -> best sentence cosine per row; None when the index stores no sentence vectors.
        self.sentence_scores = sentence_scores

    def search(self, query: str, k: int, query_vector: np.ndarray | None = None) -> list[Hit]:
        p = self.params
        depth = max(int(k), p.depth)
        dense: tuple[list[int], list[float]] = ([], [])
        bm25: tuple[list[int], list[float]] = ([], [])
        if p.dense_weight:
            vec = self.dense.embed_query(query) if query_vector is None else query_vector
            dense = self.dense.search_rows(vec, depth)
            if p.sentences and self.sentence_scores is not None and dense[0]:
                best = np.maximum(np.asarray(dense[1]), self.sentence_scores(dense[0], vec))
                order = np.lexsort((np.asarray(dense[0]), -best))
                dense = ([dense[0][i] for i in order], [float(best[i]) for i in order])
        if p.bm25_weight:
            bm25 = self.bm25.search_rows(query, depth)
        return [Hit(self.passages[row], score) for row, score in fuse(dense, bm25, p, k)]

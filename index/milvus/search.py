"""Searching one version in a Milvus collection shared by every version: Milvus hits mapped to its rows."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from footnote.errors import IndexError_
from footnote.index import dense as dense_params
from footnote.index.lexical import BM25_PARAMS, BM25Retriever
from footnote.index.milvus.connect import client, runs_lite, short_error
from footnote.index.text import analyzer
from footnote.ingest.models import Passage

MAX_LIMIT = 16_384  # Milvus's topk ceiling


class MilvusVectors:
    """One version's view of the collection: Milvus hits mapped to this version's passage rows."""

    def __init__(self, uri: str, info: dict[str, Any], keys: list[str]) -> None:
        self.uri = uri
        self.collection = str(info["collection"])
        self.dim = int(info["dim"])
        self.count = len(keys)
        self.lexical = str(info.get("lexical", "local"))
        self.ef_search = int(info.get("ef_search", dense_params.ef_search_for(len(keys))))
        self.index_type = str(info.get("index_type", "FLAT"))
        self._row = {k: i for i, k in enumerate(keys)}
        self._client = client(uri)
        self._negated = runs_lite(uri)  # Milvus Lite reports BM25 as a negated distance

    def search_rows(self, vector: np.ndarray, k: int, ef_search: int | None = None) -> tuple[list[int], list[float]]:
        vec = np.asarray(vector, dtype=np.float32).reshape(-1)
        ef = ef_search if ef_search is not None else self.ef_search
        found = self._ranked(functools.partial(self._dense, vec, ef), k)
        return [r for r, _ in found], [s for _, s in found]

    def _dense(self, vec: np.ndarray, ef: int, limit: int) -> list[dict[str, Any]]:
        params = {"ef": max(ef, limit)} if self.index_type.startswith("HNSW") else {}
        hits: list[dict[str, Any]] = self._call(lambda: self._client.search(
            self.collection, data=[vec.tolist()], anns_field="vector", limit=limit,
            search_params={"metric_type": "IP", "params": params}, output_fields=[])[0])
        return hits

    def lexical_rows(self, tokens: list[str], k: int) -> tuple[list[int], list[float]]:
        """BM25 in Milvus over the same stemmed tokens bm25s sees, scored on the bm25s scale."""
        if not tokens or k <= 0:
            return [], []
        scale = -1.0 if self._negated else 1.0
        # Milvus keeps BM25's (k1 + 1) numerator; bm25s's Lucene variant drops it: same ranking.
        scale /= float(BM25_PARAMS["k1"]) + 1.0
        text = " ".join(tokens)
        found = self._ranked(lambda limit: self._call(lambda: self._client.search(
            self.collection, data=[text], anns_field="sparse", limit=limit,
            search_params={"metric_type": "BM25"}, output_fields=[])[0]), k, scale)
        # bm25s breaks ties by row; do the same so both stores rank alike.
        found.sort(key=lambda item: (-round(item[1], 5), item[0]))
        return [r for r, _ in found], [s for _, s in found]

    def _ranked(self, fetch: Callable[[int], list[dict[str, Any]]], k: int,
                scale: float = 1.0) -> list[tuple[int, float]]:
        """The best ``k`` hits this version knows; fetches more while other versions' keys crowd them out."""
        k = min(int(k), self.count)
        limit = k
        while k > 0:
            hits = fetch(limit)
            found = [(self._row[h["id"]], float(h["distance"]) * scale) for h in hits if h["id"] in self._row]
            if len(found) >= k or len(hits) < limit or limit >= MAX_LIMIT:
                return found[:k]
            limit = min(MAX_LIMIT, limit * 2 + 16)
        return []

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except IndexError_:
            raise
        except Exception as exc:
            raise IndexError_(f"Milvus search failed at {self.uri}, collection {self.collection} "
                              f"({short_error(exc)})") from exc


class MilvusBM25Retriever(BM25Retriever):
    """BM25 ranked by Milvus's full-text function; ``scores()`` and idf still use the local ``bm25/`` model."""

    def __init__(self, model: Any, passages: Sequence[Passage], vectors: MilvusVectors) -> None:
        super().__init__(model, passages)
        self.vectors = vectors

    def search_rows(self, query: str, k: int) -> tuple[list[int], list[float]]:
        return self.vectors.lexical_rows(analyzer.terms(query), k)

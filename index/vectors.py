"""Where passage vectors live: the ``VectorStore`` interface, ``FaissStore``, and choosing a store.

A store writes one version's passage vectors (``write``), opens them for search (``open`` -> ``Vectors``,
``index.dense``) and, after a new version is published, frees what only the versions leaving the disk use
(``retire``). ``check`` fails early, before anything is embedded, when the store cannot take a new version.
Every method works from its arguments and the version folders on disk: none has to run before another.
``index.build`` and ``index.load`` take the store; nothing else knows which one it is. Row ``i`` of a store's
search is ``passages[i]`` of the version, as everywhere else in the index.

BM25 is not a vector search: every version keeps its own ``bm25/`` model, and ``open_bm25`` gives the
retriever over it, ranked by the store itself where the store has its own BM25 (Milvus on a real server).

``FaissStore`` keeps ``dense.faiss`` in the version folder. ``MilvusStore`` (``index.milvus``) keeps the
vectors in a Milvus collection shared by every version and every replica; it needs the ``scale`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from footnote.errors import InputError, SettingError
from footnote.index import dense
from footnote.index.dense import Vectors
from footnote.index.files import DENSE
from footnote.index.lexical import BM25Retriever
from footnote.index.manifest import Manifest
from footnote.ingest.models import Passage

SCALE_EXTRA = "pip install 'footnote[scale]'"


class VectorStore(Protocol):
    name: str  # what the manifest's dense.store says

    def check(self, index_dir: Path, say: Callable[[str], Any] | None = None) -> None:
        """Before a build: raise when this store cannot take a new version of ``index_dir``, so a bad
        choice fails before anything is embedded."""
        ...

    def write(self, index_dir: Path, folder: Path, passages: Sequence[Passage], vectors: np.ndarray,
              manifest: Manifest, requested: str, say: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """Store a new version's passage vectors (``folder`` is the version being built); the ``dense``
        section of its manifest. ``requested``: auto|flat|hnsw. ``say``: progress lines."""
        ...

    def open(self, folder: Path, manifest: Manifest) -> Vectors:
        """The vectors of a published version."""
        ...

    def open_bm25(self, vectors: Vectors, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
        """The BM25 retriever of a version this store opened as ``vectors``, over its ``bm25/`` ``model``."""
        ...

    def holds(self, manifest: Manifest) -> bool:
        """Whether the version with ``manifest`` already keeps its vectors here (nothing to move)."""
        ...

    def retire(self, index_dir: Path, keep: set[str], say: Callable[[str], Any] | None = None) -> None:
        """After a publish, before the versions not in ``keep`` leave the disk: free what only they use."""
        ...


class FaissStore:
    """``dense.faiss`` in the version folder: exact search below 30,000 passages, HNSW above (``index.dense``)."""

    name = "faiss"

    def check(self, index_dir: Path, say: Callable[[str], Any] | None = None) -> None:
        """Nothing to check: the vectors go into the version folder."""

    def write(self, index_dir: Path, folder: Path, passages: Sequence[Passage], vectors: np.ndarray,
              manifest: Manifest, requested: str, say: Callable[[str], Any] | None = None) -> dict[str, Any]:
        import faiss

        made, params = dense.build_faiss(vectors, requested)
        faiss.write_index(made, str(folder / DENSE))
        return {**params, "requested": requested}

    def open(self, folder: Path, manifest: Manifest) -> Vectors:
        import faiss

        return FaissVectors(faiss.read_index(str(folder / DENSE)),
                            int(manifest.dense.get("ef_search", dense.HNSW_EF_SEARCH)))

    def open_bm25(self, vectors: Vectors, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
        return BM25Retriever(model, passages)

    def holds(self, manifest: Manifest) -> bool:
        return manifest.store == self.name

    def retire(self, index_dir: Path, keep: set[str], say: Callable[[str], Any] | None = None) -> None:
        """Nothing: the vectors are a file of the version folder, deleted with it."""


class FaissVectors:
    """A FAISS index; one query searches on one thread."""

    def __init__(self, index: Any, ef_search: int) -> None:
        self.index = index
        self.count = int(index.ntotal)
        self.dim = int(index.d)
        self.ef_search = ef_search

    def search_rows(self, vector: np.ndarray, k: int, ef_search: int | None = None) -> tuple[list[int], list[float]]:
        k = min(int(k), self.count)
        if k <= 0:
            return [], []
        import faiss

        x = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        params = None
        if isinstance(self.index, faiss.IndexHNSW):
            ef = ef_search if ef_search is not None else self.ef_search
            params = faiss.SearchParametersHNSW(efSearch=max(ef, k))  # type: ignore[attr-defined]
        # One query is too small to share between threads: on a busy machine OpenMP's hand-offs cost more
        # than the scan (measured: flat 10k p95 20 ms with 2 threads, under 1 ms with 1). The setting is
        # per calling thread, so index builds elsewhere keep their threads.
        threads = faiss.omp_get_max_threads()
        if threads != 1:
            faiss.omp_set_num_threads(1)
        try:
            scores, rows = self.index.search(x, k, params=params)
        finally:
            if threads != 1:
                faiss.omp_set_num_threads(threads)
        pairs = [(int(r), float(s)) for r, s in zip(rows[0].tolist(), scores[0].tolist(), strict=True) if r >= 0]
        return [r for r, _ in pairs], [s for _, s in pairs]


StoreName = Literal["faiss", "milvus"]


def choose_store(store: StoreName | None, milvus_uri: str | None) -> VectorStore | None:
    """The store the ``store`` and ``milvus_uri`` settings name; None: keep the index's.

    A Milvus URI alone means Milvus. Without pymilvus, Milvus is one line naming the ``scale`` extra.
    """
    if store is None and milvus_uri is not None:
        store = "milvus"
    if store is None:
        return None
    if store == "faiss":
        if milvus_uri is not None:
            raise SettingError("milvus_uri", "a Milvus URI is for the milvus store, not faiss")
        return FaissStore()
    if store != "milvus":
        raise SettingError("store", f"unknown store {store!r}: use faiss or milvus")
    return milvus(milvus_uri)  # no URI: the one the index records


def store_for(manifest: Manifest) -> VectorStore:
    """The store a version was written to, at the place its manifest records."""
    if manifest.store == "milvus":
        return milvus(str(manifest.dense["uri"]))
    return FaissStore()


def milvus(uri: str | None, **options: Any) -> VectorStore:
    """A ``MilvusStore`` at ``uri``; without the ``scale`` extra, an ``InputError`` saying how to install it."""
    import importlib

    try:  # checked here, so the message names the extra rather than a module
        importlib.import_module("pymilvus")
    except ImportError:
        raise InputError(f"the Milvus store needs pymilvus: {SCALE_EXTRA}") from None
    from footnote.index.milvus import MilvusStore

    return MilvusStore(uri, **options)

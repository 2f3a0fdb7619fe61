"""Where passage vectors live: the ``VectorStore`` interface, ``FaissStore``, and choosing a store.

A store writes one version's passage vectors (``write``), opens them for search (``open`` -> ``Vectors``)
and, after a new version is published, frees what no kept version uses (``retire``). ``index.build`` and
``index.store.load`` take the store; nothing else knows which one it is. Row ``i`` of a store's search is
``passages[i]`` of the version, as everywhere else in the index.

``FaissStore`` keeps ``dense.faiss`` in the version folder. ``MilvusStore`` (``index.milvus_store``) keeps
the vectors in a Milvus collection shared by every version and every replica; it needs the ``scale`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from footnote.errors import InputError
from footnote.index import dense
from footnote.index.lexical import BM25Retriever
from footnote.ingest.models import Passage

if TYPE_CHECKING:
    from footnote.index.manifest import Manifest

DENSE = "dense.faiss"
SCALE_EXTRA = "pip install 'footnote[scale]'"


class Vectors(Protocol):
    """One version's passage vectors, open for search."""

    count: int
    dim: int

    def search_rows(self, vector: np.ndarray, k: int, ef_search: int | None = None) -> tuple[list[int], list[float]]:
        """Rows and cosine scores of the ``k`` nearest passages, best first."""
        ...

    def bm25(self, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
        """The lexical retriever for this version (the store's own BM25 where it has one)."""
        ...


class VectorStore(Protocol):
    name: str  # what the manifest's dense.store says

    def prepare(self, index_dir: Path, current: Manifest | None, say: Callable[[str], Any] | None = None) -> None:
        """Before a build: check the store can take a new version of ``index_dir`` (``current``: its
        current version's manifest), so a bad choice fails before anything is embedded."""
        ...

    def write(self, index_dir: Path, folder: Path, passages: Sequence[Passage], vectors: np.ndarray,
              manifest: Manifest, requested: str, say: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """Store a new version's passage vectors (``folder`` is the version being built); the ``dense``
        section of its manifest. ``requested``: auto|flat|hnsw. ``say``: progress lines."""
        ...

    def open(self, folder: Path, manifest: Manifest) -> Vectors:
        """The vectors of a published version."""
        ...

    def holds(self, manifest: Manifest) -> bool:
        """Whether the version with ``manifest`` already keeps its vectors here (nothing to move)."""
        ...

    def retire(self, index_dir: Path, say: Callable[[str], Any] | None = None) -> None:
        """After a publish: free what no version still on disk uses."""
        ...


class FaissStore:
    """``dense.faiss`` in the version folder: exact search below 30,000 passages, HNSW above (``index.dense``)."""

    name = "faiss"

    def prepare(self, index_dir: Path, current: Manifest | None, say: Callable[[str], Any] | None = None) -> None:
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

    def holds(self, manifest: Manifest) -> bool:
        return manifest.store == self.name

    def retire(self, index_dir: Path, say: Callable[[str], Any] | None = None) -> None:
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

    def bm25(self, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
        return BM25Retriever(model, passages)


StoreName = Literal["faiss", "milvus"]


def choose_store(store: StoreName | None, milvus_uri: str | None) -> VectorStore | None:
    """The store FOOTNOTE_STORE / FOOTNOTE_MILVUS_URI (or --store / --milvus-uri) name; None: keep the index's.

    A Milvus URI alone means Milvus. Without pymilvus, Milvus is one line naming the ``scale`` extra.
    """
    if store is None and milvus_uri is not None:
        store = "milvus"
    if store is None:
        return None
    if store == "faiss":
        if milvus_uri is not None:
            raise InputError("--milvus-uri needs --store milvus")
        return FaissStore()
    if store != "milvus":
        raise InputError(f"unknown store {store!r}: use faiss or milvus")
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
    from footnote.index.milvus_store import MilvusStore

    return MilvusStore(uri, **options)

"""Reading an index: ``load(index_dir) -> Index``, the current version with its retrievers.

The files of a version folder are ``index.files``'s; the vector store that holds the passage vectors is the one
the manifest names (``index.vectors``), or the one given.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import IndexIncompatible, IndexMissing, InputError, NotFound, SettingError
from footnote.index import versions
from footnote.index.dense import DenseRetriever, Vectors
from footnote.index.embed import Embedder, expected_model_sha256, get_embedder
from footnote.index.files import BM25_DIR, DOCUMENTS, PASSAGES, SENTENCE_OFFSETS, SENTENCE_VECTORS, read_jsonl
from footnote.index.hits import Hit, Mode, Retriever
from footnote.index.hybrid import FusionParams, HybridRetriever
from footnote.index.kept import Kept
from footnote.index.lexical import BM25Retriever, load_bm25
from footnote.index.manifest import Manifest, read_manifest, rerun
from footnote.index.vectors import VectorStore, store_for
from footnote.ingest.models import Document, Passage

__all__ = ["Hit", "Index", "Mode", "IndexIncompatible", "IndexMissing", "current_version", "load"]

current_version = versions.current_version
QUERY_CACHE = 256


class Index:
    """One loaded index version: documents, passages, vectors and the three retrievers over them."""

    def __init__(self, folder: Path, manifest: Manifest, documents: dict[str, Document],
                 passages: list[Passage], vectors: Vectors, bm25: BM25Retriever, sentence_vectors: np.ndarray,
                 sentence_offsets: np.ndarray, embedder: Embedder | None = None,
                 model_path: str | Path | None = None) -> None:
        self.folder = folder
        self.index_dir = folder  # the folder it was loaded through (load() sets it): page maps lie beside it
        self.manifest = manifest
        self.version: str = manifest.version
        self.documents = documents
        self.passages = passages
        self.vectors = vectors
        self.bm25 = bm25
        self._sentence_vectors = sentence_vectors
        self._sentence_offsets = sentence_offsets
        self._row = {p.id: i for i, p in enumerate(passages)}
        self._embedder = embedder
        self._model_path = model_path
        self.pinned_fusion: FusionParams | None = None  # FOOTNOTE_FUSION; None: the fit in the manifest
        self._lock = threading.Lock()
        self._query_cache: Kept[str, np.ndarray] = Kept(QUERY_CACHE)
        self._retrievers: dict[str, Retriever] = {}
        self.dim = manifest.dim

    # --- lookups -------------------------------------------------------------------------------------
    def passage(self, passage_id: str) -> Passage:
        """The passage with this id (``NotFound`` otherwise)."""
        try:
            return self.passages[self._row[passage_id]]
        except KeyError:
            raise NotFound(f"no passage {passage_id!r} in the index") from None

    def row(self, passage_id: str) -> int:
        """The passage's row in every array, FAISS and BM25 (``NotFound`` otherwise)."""
        try:
            return self._row[passage_id]
        except KeyError:
            raise NotFound(f"no passage {passage_id!r} in the index") from None

    def document(self, doc_id: str) -> Document:
        try:
            return self.documents[doc_id]
        except KeyError:
            raise NotFound(f"no document {doc_id!r} in the index") from None

    def sentence_vectors(self, passage_id: str) -> tuple[tuple[tuple[int, int], ...], np.ndarray]:
        """(sentence spans, ``(len(spans), dim)`` unit vectors) of one passage; a read-only view, no copy."""
        i = self.row(passage_id)
        lo, hi = int(self._sentence_offsets[i]), int(self._sentence_offsets[i + 1])
        return self.passages[i].sentences, self._sentence_vectors[lo:hi]

    @property
    def all_sentence_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, offsets): every sentence vector, and per-passage row ranges ``offsets[i]:offsets[i+1]``."""
        return self._sentence_vectors, self._sentence_offsets

    # --- embeddings ----------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The configured model (checked at load to be the one that built this index), loaded on first use."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = get_embedder(self._model_path)
        return self._embedder

    def embed_query(self, text: str) -> np.ndarray:
        """The query's ``(dim,)`` unit vector (read-only; the last 256 queries are cached)."""
        return self._vectors([text])[text]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` unit vectors through the same cache; the texts not in it are embedded in one batch."""
        found = self._vectors(texts)
        return np.stack([found[t] for t in texts])

    def _vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        def embed(missing: list[str]) -> list[np.ndarray]:
            vectors = list(self.embedder.embed(missing, progress=False))
            for vec in vectors:
                vec.setflags(write=False)
            return vectors

        return self._query_cache.get_many(texts, embed)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of an analyzed term (``index.text.analyzer``); unseen: the most."""
        return self.bm25.idf(term)

    def known(self, term: str) -> bool:
        """True when some passage contains the analyzed term."""
        return self.bm25.df(term) > 0

    @property
    def has_sentence_vectors(self) -> bool:
        return bool(len(self._sentence_vectors)) or not any(p.sentences for p in self.passages)

    def best_sentence_scores(self, rows: list[int], query_vector: np.ndarray) -> np.ndarray:
        """The best sentence cosine of each passage row (-1 for a passage without sentence vectors)."""
        offsets = self._sentence_offsets
        lo, hi = offsets[rows], offsets[np.asarray(rows) + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]) \
            if len(rows) else np.zeros(0, dtype=np.int64)
        sims = self._sentence_vectors[take] @ np.asarray(query_vector, dtype=np.float32)
        counts = (hi - lo).astype(np.int64)
        best = np.full(len(rows), -1.0, dtype=np.float32)
        nonempty = counts > 0
        if nonempty.any():
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[nonempty]
            best[nonempty] = np.maximum.reduceat(sims, starts)
        return best

    # --- fusion --------------------------------------------------------------------------------------
    @property
    def fusion(self) -> FusionParams:
        """The hybrid fusion searches use: pinned (``FOOTNOTE_FUSION``), else fitted at ingest, else RRF."""
        if self.pinned_fusion is not None:
            return self.pinned_fusion
        fitted = self.manifest.fusion
        return fitted.params if fitted is not None else FusionParams()

    def fusion_status(self) -> dict[str, Any]:
        """What ``/readyz`` shows: the fusion in use, where it comes from, and the fit's evidence."""
        fitted = self.manifest.fusion
        source = "pinned" if self.pinned_fusion is not None else "fitted" if fitted and fitted.fitted else "default"
        out: dict[str, Any] = {"source": source, **self.fusion.to_dict()}
        if fitted is not None:
            out["fit"] = fitted.to_dict()
        return out

    # --- retrieval -----------------------------------------------------------------------------------
    def retriever(self, mode: Mode | str = Mode.HYBRID, *, fusion: FusionParams | None = None,
                  ef_search: int | None = None) -> Retriever:
        """A retriever for ``mode`` (hybrid, dense, bm25). Default ones are built once and shared."""
        mode = Mode.parse(mode)
        default = (fusion is None or fusion == self.fusion) and ef_search is None
        if default and mode in self._retrievers:
            return self._retrievers[mode]
        made: Retriever
        if mode is Mode.DENSE:
            made = DenseRetriever(self.vectors, self.passages, self.embed_query, ef_search=ef_search)
        elif mode is Mode.BM25:
            made = self.bm25
        else:
            made = HybridRetriever(DenseRetriever(self.vectors, self.passages, self.embed_query,
                                                  ef_search=ef_search), self.bm25, fusion or self.fusion,
                                   self.best_sentence_scores if self.has_sentence_vectors else None)
        if default:
            self._retrievers[mode] = made
        return made


def load(index_dir: str | Path, embedder: Embedder | None = None, model_path: str | Path | None = None,
         fusion: FusionParams | None = None, store: VectorStore | None = None) -> Index:
    """Load the current version of the index at ``index_dir`` (IndexMissing / IndexIncompatible).

    Queries are embedded with ``embedder``, else the model in ``model_path`` (None: the packaged one),
    loaded on first use; either must be the model that built the index. ``fusion`` pins the hybrid
    retriever's parameters (``index.hybrid.fusion_from_settings``; None: the ones fitted at ingest, ``Index.fusion``).
    ``store``: where to search the passage vectors (None:
    where the manifest says they are; a store of another kind than the index's is refused).
    """
    index_dir = Path(index_dir)
    for attempt in range(2):
        folder = versions.resolve(index_dir)
        if folder is None:
            raise IndexMissing(f"no index at {index_dir}: run `footnote ingest` first")
        try:
            index = _load_folder(folder, index_dir, embedder, model_path, store)
            index.pinned_fusion = fusion
            index.index_dir = index_dir
            return index
        except FileNotFoundError as exc:
            # A writer removed this version after we resolved the link (two updates during our load).
            if attempt == 1:
                raise rerun(index_dir, f"is damaged: {Path(exc.filename or '?').name} is missing") from exc
    raise AssertionError("unreachable")


def _load_folder(folder: Path, index_dir: Path, embedder: Embedder | None, model_path: str | Path | None,
                 store: VectorStore | None) -> Index:
    manifest = read_manifest(folder, index_dir)
    if store is not None and store.name != manifest.store:
        raise SettingError("store", f"the index at {index_dir} keeps its vectors in {manifest.store}, not "
                                    f"{store.name}; run `footnote ingest` with this setting to move them")
    model = manifest.model
    if embedder is not None:
        expected = embedder.sha256
    else:
        try:
            expected = expected_model_sha256(model_path)
        except InputError as exc:
            raise rerun(index_dir, f"was built with a model that is not available here ({exc})") from exc
    if model.get("sha256") != expected:
        raise rerun(index_dir, f"was built with another embedding model ({model.get('name')}, weights "
                                f"sha256 {str(model.get('sha256'))[:12]}…, not {expected[:12]}…)")
    counts = manifest.counts
    try:
        documents = {d.doc_id: d for d in map(Document.from_dict, read_jsonl(folder / DOCUMENTS))}
        passages = [Passage.from_dict(row) for row in read_jsonl(folder / PASSAGES)]
        store = store or store_for(manifest)
        vectors = store.open(folder, manifest)
        bm25_model = load_bm25(folder / BM25_DIR)
        offsets = np.load(folder / SENTENCE_OFFSETS, allow_pickle=False)
        # Memory-mapped: the answer step touches a few rows per request; pages load on demand.
        sentence_vectors = np.load(folder / SENTENCE_VECTORS, allow_pickle=False, mmap_mode="r")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise rerun(index_dir, f"is damaged ({exc.__class__.__name__}: {str(exc)[:120]})") from exc
    n = len(passages)
    dim = int(model.get("dim", 0))
    problems = []
    if n != counts.get("passages") or len(documents) != counts.get("documents"):
        problems.append("passage or document count differs from the manifest")
    if vectors.count != n or vectors.dim != dim:
        problems.append("the passage vectors do not match the passages")
    if int(bm25_model.scores.get("num_docs", -1)) != n:
        problems.append("bm25/ does not match the passages")
    if offsets.shape != (n + 1,) or sentence_vectors.ndim != 2 or sentence_vectors.shape[1] != dim \
            or int(offsets[-1]) != sentence_vectors.shape[0]:
        problems.append("sentence vectors do not match the passages")
    if problems:
        raise rerun(index_dir, "is damaged: " + "; ".join(problems))
    bm25 = store.open_bm25(vectors, bm25_model, passages)
    return Index(folder, manifest, documents, passages, vectors, bm25, sentence_vectors, offsets, embedder, model_path)

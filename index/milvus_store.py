"""Milvus as the vector store (``footnote ingest --store milvus --milvus-uri URI``): the read side.

Only the passage vectors (and, on a real Milvus server, BM25) move to Milvus. The version folder keeps
every other file of ``index.store`` (documents, passages, sentence vectors, ``bm25/``, manifest) and gains
``milvus_keys.npy``: row ``i`` is the Milvus primary key of ``passages[i]``, a hash of the passage id and
the text the model embedded. Keys are content-addressed, so one collection serves every version at once:
a reader keeps the hits whose key its own version knows. (Writing them, inserting before publish and
deleting after, is ``index.milvus_sync``, used by ``index.build``.)

This module holds what every process needs: the ``--store`` / ``--milvus-uri`` choice (``configure``),
URI handling and the one client per URI, reading a version's keys, and what ``index.store`` uses to load
a version (``uses_milvus``, ``open_vectors``). ``MilvusVectors`` is FAISS-shaped (``ntotal``, ``d``,
``search(x, k)`` -> scores, rows), so ``DenseRetriever`` and ``HybridRetriever`` run on it unchanged and
answers match the FAISS store; ``MilvusBM25Retriever`` answers BM25 from the same collection.

URIs: a path ending in ``.db`` is Milvus Lite, embedded in this process (one process per file: a
second one fails on its lock); ``http(s)://host:port`` is a Milvus server or cluster shared by many
``footnote serve`` replicas. Lexical search runs in Milvus (its BM25 function, fed our own stemmed
tokens so rankings equal bm25s) only on a real server; Milvus Lite keeps BM25 statistics per segment,
which drift from bm25s after updates, so there the local ``bm25/`` index is used (see README).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import IndexError_, InputError
from footnote.index import dense as dense_params
from footnote.index.lexical import BM25_PARAMS, BM25Retriever
from footnote.index.text import analyzer
from footnote.ingest.models import Passage

log = logging.getLogger("footnote.milvus")

KEYS = "milvus_keys.npy"
STORES = ("faiss", "milvus")
MAX_LIMIT = 16_384  # Milvus's topk ceiling


# --- connections --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Override:
    """What ``--store`` / ``--milvus-uri`` ask of every index this process loads (None: the manifest's)."""

    store: str | None = None
    uri: str | None = None


_override = Override()
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def configure(store: str | None = None, uri: str | None = None) -> None:
    """Set the process-wide ``--store`` / ``--milvus-uri`` choice for search and serve."""
    global _override
    if store is not None and store not in STORES:
        raise InputError(f"unknown store {store!r}: use one of {', '.join(STORES)}")
    if uri is not None and store == "faiss":
        raise InputError("--milvus-uri needs --store milvus")
    _override = Override(store, normalize_uri(uri) if uri is not None else None)


def is_lite(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


def normalize_uri(uri: str) -> str:
    """An absolute ``.db`` path for Milvus Lite, or the server URI as given."""
    uri = uri.strip()
    if not uri:
        raise InputError("--milvus-uri is empty: give a .db file path or http://host:19530")
    if not is_lite(uri):
        return uri.rstrip("/")
    path = Path(uri).expanduser()
    if path.suffix != ".db":
        raise InputError(f"--milvus-uri {uri}: a local Milvus Lite file must end in .db (or use http://host:port)")
    return str(path.resolve())


def client(uri: str) -> Any:
    """One ``MilvusClient`` per URI per process (Milvus Lite: starts the embedded engine)."""
    with _lock:
        if uri in _clients:
            return _clients[uri]
        from pymilvus import MilvusClient

        if is_lite(uri):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            made = MilvusClient(uri, timeout=30)
        except Exception as exc:
            if is_lite(uri):
                raise IndexError_(
                    f"cannot open Milvus Lite file {uri}: another process has it open (Milvus Lite allows one "
                    f"process per .db; stop it, or run `milvus-lite server --data-dir {uri}` and use an "
                    f"http:// URI)") from exc
            raise IndexError_(f"cannot reach Milvus at {uri} ({short_error(exc)})") from exc
        _clients[uri] = made
        return made


def release(uri: str) -> None:
    """Close this process's client for ``uri``; for Milvus Lite also free the file for other processes."""
    with _lock:
        made = _clients.pop(uri, None)
    if made is not None:
        made.close()
    if is_lite(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def short_error(exc: BaseException) -> str:
    """The first line of a Milvus error, for one-line messages."""
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:200]


def server_version(uri: str) -> str:
    return str(client(uri).get_server_version())


def runs_lite(uri: str) -> bool:
    """Milvus Lite, embedded or behind ``milvus-lite server`` (its version says so)."""
    return is_lite(uri) or server_version(uri).startswith("milvus_lite")


# --- keys (written by index.milvus_sync) -----------------------------------------------------------------

def hex_keys(keys: np.ndarray) -> list[str]:
    """``(n, 16)`` uint8 keys as the hex strings Milvus stores as primary keys."""
    return [bytes(row).hex() for row in keys]


def read_keys(folder: Path) -> list[str]:
    return hex_keys(np.load(folder / KEYS, allow_pickle=False))


# --- reading: a FAISS-shaped view of a Milvus collection -------------------------------------------------

class MilvusVectors:
    """Dense search in Milvus, answering like a FAISS index: rows are this version's passage rows."""

    def __init__(self, uri: str, info: dict[str, Any], keys: list[str]) -> None:
        self.uri = uri
        self.collection = str(info["collection"])
        self.d = int(info["dim"])
        self.ntotal = len(keys)
        self.lexical = str(info.get("lexical", "local"))
        self.ef_search = int(info.get("ef_search", dense_params.ef_search_for(len(keys))))
        self.index_type = str(info.get("index_type", "FLAT"))
        self._row = {k: i for i, k in enumerate(keys)}
        self._client = client(uri)
        self._negated = runs_lite(uri)  # Milvus Lite reports BM25 as a negated distance

    def search(self, x: np.ndarray, k: int, params: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, rows)`` of shape ``(len(x), k)``, best first, padded with ``-1`` like FAISS."""
        x = np.asarray(x, dtype=np.float32).reshape(-1, self.d)
        scores = np.full((len(x), k), -np.inf, dtype=np.float32)
        rows = np.full((len(x), k), -1, dtype=np.int64)
        for q, vec in enumerate(x):
            found = self._ranked(functools.partial(self._dense, vec), k)
            for j, (row, score) in enumerate(found):
                rows[q, j], scores[q, j] = row, score
        return scores, rows

    def _dense(self, vec: np.ndarray, limit: int) -> list[dict[str, Any]]:
        params = {"ef": max(self.ef_search, limit)} if self.index_type.startswith("HNSW") else {}
        return self._call(lambda: self._client.search(
            self.collection, data=[vec.tolist()], anns_field="vector", limit=limit,
            search_params={"metric_type": "IP", "params": params}, output_fields=[])[0])

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
        k = min(int(k), self.ntotal)
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

    def bm25_retriever(self, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
        """Milvus's BM25 when this collection has it, else the local ``bm25/`` index."""
        if self.lexical == "milvus":
            return MilvusBM25Retriever(model, passages, self)
        return BM25Retriever(model, passages)


class MilvusBM25Retriever(BM25Retriever):
    """BM25 answered by Milvus's full-text function; ``scores()`` still uses the local ``bm25/`` model."""

    def __init__(self, model: Any, passages: Sequence[Passage], vectors: MilvusVectors) -> None:
        super().__init__(model, passages)
        self.vectors = vectors

    def search_rows(self, query: str, k: int) -> tuple[list[int], list[float]]:
        return self.vectors.lexical_rows(analyzer.terms(query), k)


def uses_milvus(manifest: dict[str, Any], index_dir: Path) -> bool:
    """Whether this version's vectors live in Milvus (checked against ``--store``)."""
    store = (manifest.get("dense") or {}).get("store", "faiss")
    wanted = _override.store
    if wanted is not None and wanted != store:
        raise InputError(f"the index at {index_dir} keeps its vectors in {store}, not {wanted}; "
                         f"re-run `footnote ingest --store {wanted}` to move them")
    return store == "milvus"


def open_vectors(folder: Path, manifest: dict[str, Any]) -> MilvusVectors:
    """The Milvus view of one version (``--milvus-uri`` overrides the URI the manifest records)."""
    info = dict(manifest["dense"])
    info["dim"] = manifest["model"]["dim"]
    uri = _override.uri or str(info["uri"])
    try:
        keys = read_keys(folder)
    except (OSError, ValueError) as exc:
        raise IndexError_(f"the index at {folder} is damaged: {KEYS} ({exc.__class__.__name__}); "
                          f"re-run `footnote ingest`") from exc
    made = client(uri)
    try:
        present = made.has_collection(info["collection"])
    except Exception as exc:
        raise IndexError_(f"cannot reach Milvus at {uri} ({short_error(exc)})") from exc
    if not present:
        raise IndexError_(f"Milvus at {uri} has no collection {info['collection']} for this index; "
                          f"re-run `footnote ingest --store milvus --milvus-uri {uri}`")
    made.load_collection(info["collection"])
    return MilvusVectors(uri, info, keys)

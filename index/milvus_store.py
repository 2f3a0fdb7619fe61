"""``MilvusStore``: passage vectors in Milvus (``--store milvus --milvus-uri URI``, the ``scale`` extra).

Only the passage vectors (and, on a real Milvus server, BM25) move to Milvus. The version folder keeps
every other file of ``index.store`` (documents, passages, sentence vectors, ``bm25/``, manifest) and gains
``milvus_keys.npy``: row ``i`` is the Milvus primary key of ``passages[i]``, a hash of the passage id and
the text the model embedded. Keys are content-addressed, so one collection serves every version at once:
a reader keeps the hits whose key its own version knows. ``MilvusStore.write`` inserts the keys a new
version adds and ``retire`` deletes the keys no version on disk uses (``index.milvus_sync``).

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from footnote.errors import IndexError_, InputError
from footnote.index import dense as dense_params
from footnote.index.lexical import BM25_PARAMS, BM25Retriever
from footnote.index.text import analyzer
from footnote.ingest.models import Passage

if TYPE_CHECKING:
    from footnote.index.manifest import Manifest
    from footnote.index.milvus_sync import MilvusSync

log = logging.getLogger("footnote.milvus")

KEYS = "milvus_keys.npy"
MAX_LIMIT = 16_384  # Milvus's topk ceiling


# --- connections --------------------------------------------------------------------------------------

_clients: dict[str, Any] = {}
_lock = threading.Lock()


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


# --- the store ------------------------------------------------------------------------------------------

class MilvusStore:
    """Passage vectors in one Milvus collection per index folder and model, shared by versions and replicas.

    ``lexical``: auto (Milvus's BM25 on a real server, the local ``bm25/`` on Milvus Lite), milvus, or
    local; ``index_type``: the vector index (default FLAT, HNSW from 30,000 passages as with FAISS).
    """

    name = "milvus"

    def __init__(self, uri: str | None, *, lexical: str = "auto", index_type: str | None = None) -> None:
        """``uri`` None: the URI the index's current version records (for reading, each version's own)."""
        self.uri = normalize_uri(uri) if uri is not None else None
        self.lexical = lexical
        self.index_type = index_type
        self._writer: MilvusSync | None = None

    def prepare(self, index_dir: Path, current: Manifest | None, say: Callable[[str], Any] | None = None) -> None:
        from footnote.index.milvus_sync import MilvusSync

        if self.uri is None:
            if current is None or current.store != self.name:
                raise InputError("--store milvus needs --milvus-uri (a .db file for Milvus Lite, or "
                                 "http://host:19530)")
            self.uri = str(current.dense["uri"])
        self._writer = MilvusSync(index_dir, self.uri, lexical=self.lexical, index_type=self.index_type, say=say)

    def write(self, index_dir: Path, folder: Path, passages: Sequence[Passage], vectors: np.ndarray,
              manifest: Manifest, requested: str, say: Callable[[str], Any] | None = None) -> dict[str, Any]:
        if self._writer is None:
            self.prepare(index_dir, None, say)
        assert self._writer is not None
        return self._writer.insert(folder, passages, vectors, manifest.model, requested)

    def open(self, folder: Path, manifest: Manifest) -> MilvusVectors:
        """This version's vectors, at this store's URI (which may name the recorded server anew) or the recorded one."""
        uri = self.uri or str(manifest.dense["uri"])
        info = {**manifest.dense, "dim": manifest.dim}
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

    def holds(self, manifest: Manifest) -> bool:
        return manifest.store == self.name and manifest.dense.get("uri") == (self.uri or manifest.dense.get("uri"))

    def retire(self, index_dir: Path, say: Callable[[str], Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.after_publish()


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

    def bm25(self, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
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

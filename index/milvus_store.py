"""Milvus as the vector store (``footnote ingest --store milvus --milvus-uri URI``).

Only the passage vectors (and, on a real Milvus server, BM25) move to Milvus. The version folder keeps
every other file of ``index.store`` (documents, passages, sentence vectors, ``bm25/``, manifest) and gains
``milvus_keys.npy``: row ``i`` is the Milvus primary key of ``passages[i]``, a hash of the passage id and
the text the model embedded. Keys are content-addressed, so one collection serves every version at once:
a reader keeps the hits whose key its own version knows, an update inserts only new keys before the new
version is published, and keys no kept version uses are deleted after it (the same two versions
``index.versions`` keeps on disk).

``MilvusVectors`` is FAISS-shaped (``ntotal``, ``d``, ``search(x, k)`` -> scores, rows), so
``DenseRetriever`` and ``HybridRetriever`` run on it unchanged and answers match the FAISS store.

URIs: a path ending in ``.db`` is Milvus Lite, embedded in this process (one process per file: a
second one fails on its lock); ``http(s)://host:port`` is a Milvus server or cluster shared by many
``footnote serve`` replicas. Lexical search runs in Milvus (its BM25 function, fed our own stemmed
tokens so rankings equal bm25s) only on a real server; Milvus Lite keeps BM25 statistics per segment,
which drift from bm25s after updates, so there the local ``bm25/`` index is used (see README).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import IndexError_, InputError
from index import dense as dense_params
from index.lexical import BM25_PARAMS, BM25Retriever
from index.text import bm25_tokens, dense_text, lexical_text
from ingest.models import Passage

log = logging.getLogger("footnote.milvus")

KEYS = "milvus_keys.npy"
STORES = ("faiss", "milvus")
LEXICAL = ("auto", "milvus", "local")
# Index types Milvus Lite builds; it accepts IVF_PQ, DISKANN and SCANN at create time and fails later.
LITE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "HNSW_SQ", "AUTOINDEX")
KEY_BYTES = 16
MAX_TEXT_BYTES = 65_535
INSERT_BATCH = 2_000
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
            raise IndexError_(f"cannot reach Milvus at {uri} ({_short(exc)})") from exc
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


def _short(exc: BaseException) -> str:
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:200]


def server_version(uri: str) -> str:
    return str(client(uri).get_server_version())


def runs_lite(uri: str) -> bool:
    """Milvus Lite, embedded or behind ``milvus-lite server`` (its version says so)."""
    return is_lite(uri) or server_version(uri).startswith("milvus_lite")


# --- keys -------------------------------------------------------------------------------------------------

def vector_key(p: Passage) -> bytes:
    """The Milvus primary key of a passage: its id and the exact text the model embedded."""
    return hashlib.blake2b(f"{p.id}\0{dense_text(p)}".encode(), digest_size=KEY_BYTES).digest()


def keys_of(passages: Sequence[Passage]) -> np.ndarray:
    """``(n, 16)`` uint8: row ``i`` is passage ``i``'s key."""
    out = np.zeros((len(passages), KEY_BYTES), dtype=np.uint8)
    for i, p in enumerate(passages):
        out[i] = np.frombuffer(vector_key(p), dtype=np.uint8)
    return out


def _hex(keys: np.ndarray) -> list[str]:
    return [bytes(row).hex() for row in keys]


def read_keys(folder: Path) -> list[str]:
    return _hex(np.load(folder / KEYS, allow_pickle=False))


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
                              f"({_short(exc)})") from exc

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
        return self.vectors.lexical_rows(bm25_tokens(query), k)


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
        raise IndexError_(f"cannot reach Milvus at {uri} ({_short(exc)})") from exc
    if not present:
        raise IndexError_(f"Milvus at {uri} has no collection {info['collection']} for this index; "
                          f"re-run `footnote ingest --store milvus --milvus-uri {uri}`")
    made.load_collection(info["collection"])
    return MilvusVectors(uri, info, keys)


# --- writing: bring a collection in line with a new version ----------------------------------------------

def collection_name(index_dir: Path, model_sha: str, lexical: str) -> str:
    """Per index folder and model (a new model is a new collection); ``_bm25`` when Milvus does BM25."""
    # The folder's own path: ``index_dir`` is a symlink to the current version once published.
    where = hashlib.blake2b(str(index_dir.parent.resolve() / index_dir.name).encode(), digest_size=5).hexdigest()
    return f"footnote_{where}_{model_sha[:8]}" + ("_bm25" if lexical == "milvus" else "")


class MilvusSync:
    """One ingest run's work on Milvus: ``before_publish`` inserts, ``after_publish`` deletes.

    ``store``/``uri`` None keep what the current version uses. ``lexical``: auto (Milvus BM25 on a real
    server, local bm25s on Milvus Lite), milvus, or local.
    """

    def __init__(self, index_dir: Path, uri: str, *, lexical: str = "auto", index_type: str | None = None,
                 say: Callable[[str], Any] | None = None) -> None:
        if lexical not in LEXICAL:
            raise InputError(f"unknown lexical mode {lexical!r}: use one of {', '.join(LEXICAL)}")
        self.index_dir = index_dir
        self.uri = normalize_uri(uri)
        self.requested_lexical = lexical
        self.index_type = index_type.upper() if index_type else None
        self.say = say or (lambda line: None)
        self.client = client(self.uri)
        self.lite = runs_lite(self.uri)
        if self.lite and self.index_type and self.index_type not in LITE_INDEX_TYPES:
            raise InputError(f"Milvus Lite does not build {self.index_type} indexes; use one of "
                             f"{', '.join(LITE_INDEX_TYPES)}")
        self.collection = ""
        self._present: set[str] = set()
        self._named: set[str] = set()

    def describe(self) -> dict[str, Any]:
        return {"store": "milvus", "uri": self.uri}

    # -- before publish --------------------------------------------------------------------------------
    def before_publish(self, folder: Path, manifest: dict[str, Any], passages: Sequence[Passage],
                       vectors: np.ndarray) -> dict[str, Any]:
        """Insert this version's missing vectors, then turn ``folder`` into a Milvus-backed version:
        ``milvus_keys.npy`` instead of ``dense.faiss``, the manifest's ``dense`` section rewritten."""
        from index.store import DENSE
        from index.writer import write_manifest

        model = manifest["model"]
        dim = int(model["dim"])
        requested = (manifest.get("dense") or {}).get("requested", "auto")
        kind = dense_params.choose_kind(len(passages), requested)
        index_type = self.index_type or ("HNSW" if kind == "hnsw" else "FLAT")
        lexical = self._lexical()
        self.collection = collection_name(self.index_dir, str(model["sha256"]), lexical)
        lexical = self._ensure_collection(dim, lexical, index_type)
        keys = keys_of(passages)
        hexes = _hex(keys)
        self._named = self._named_collections()
        self._present = self._present_keys(self._expected_present())
        missing = [i for i, k in enumerate(hexes) if k not in self._present]
        self._insert(missing, hexes, passages, vectors, lexical)
        self._present.update(hexes[i] for i in missing)
        self._flush(len(self._present))
        np.save(folder / KEYS, keys, allow_pickle=False)
        (folder / DENSE).unlink(missing_ok=True)
        info: dict[str, Any] = {
            "store": "milvus", "uri": self.uri, "collection": self.collection, "kind": kind,
            "index_type": index_type, "metric": "ip", "lexical": lexical, "requested": requested,
            "server": server_version(self.uri), "keys": "blake2b-16(passage id \\0 dense text)",
        }
        if index_type.startswith("HNSW"):
            info.update(M=dense_params.HNSW_M, ef_construction=dense_params.HNSW_EF_CONSTRUCTION,
                        ef_search=dense_params.ef_search_for(len(passages)))
        manifest = {**manifest, "dense": info}
        manifest["files"] = {p.relative_to(folder).as_posix(): p.stat().st_size
                             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}
        write_manifest(folder, manifest)
        self.say(f"milvus: {len(missing)} vectors inserted, {len(hexes) - len(missing)} reused in "
                 f"{self.collection} ({'Milvus Lite' if self.lite else 'Milvus'} at {self.uri}, {index_type}, "
                 f"BM25 {'in Milvus' if lexical == 'milvus' else 'local'})")
        return manifest

    def _lexical(self) -> str:
        if self.requested_lexical != "auto":
            return self.requested_lexical
        return "local" if self.lite else "milvus"

    def _ensure_collection(self, dim: int, lexical: str, index_type: str) -> str:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        if c.has_collection(self.collection):
            self._ensure_index(index_type)
            c.load_collection(self.collection)
            return lexical
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=2 * KEY_BYTES)
        schema.add_field("passage_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = c.prepare_index_params()
        index.add_index("vector", index_type=index_type, metric_type="IP", params=self._build_params(index_type))
        if lexical == "milvus":
            schema.add_field("lexical", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["lexical"], output_field_names=["sparse"]))
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                            params={"bm25_k1": BM25_PARAMS["k1"], "bm25_b": BM25_PARAMS["b"]})
        try:
            c.create_collection(self.collection, schema=schema, index_params=index)
        except Exception as exc:
            if lexical != "milvus" or self.requested_lexical == "milvus":
                raise IndexError_(f"cannot create collection {self.collection} in Milvus at {self.uri} "
                                  f"({_short(exc)})") from exc
            # A deployment without the BM25 function (Milvus < 2.5): BM25 stays local.
            self.say(f"milvus: no BM25 function at {self.uri} ({_short(exc)}); BM25 stays local")
            self.collection = self.collection.removesuffix("_bm25")
            return self._ensure_collection(dim, "local", index_type)
        return lexical

    def _build_params(self, index_type: str) -> dict[str, Any]:
        if index_type.startswith("HNSW"):
            return {"M": dense_params.HNSW_M, "efConstruction": dense_params.HNSW_EF_CONSTRUCTION}
        if index_type.startswith("IVF"):
            return {"nlist": 1024}
        return {}

    def _ensure_index(self, index_type: str) -> None:
        """Rebuild the vector index in place when the corpus crossed the flat/HNSW threshold."""
        c = self.client
        current = (c.describe_index(self.collection, "vector") or {}).get("index_type")
        if current == index_type:
            return
        self.say(f"milvus: rebuilding the {self.collection} vector index as {index_type} (was {current})")
        c.release_collection(self.collection)
        c.drop_index(self.collection, "vector")
        index = c.prepare_index_params()
        index.add_index("vector", index_type=index_type, metric_type="IP", params=self._build_params(index_type))
        c.create_index(self.collection, index)

    def _version_folders(self) -> list[Path]:
        from index import versions

        folder = versions.versions_dir(self.index_dir)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("v"))

    def _uses_this_collection(self, folder: Path) -> bool:
        dense = _dense_section(folder)
        return dense.get("store") == "milvus" and dense.get("collection") == self.collection \
            and (folder / KEYS).is_file()

    def _expected_present(self) -> set[str]:
        """The keys the versions still on disk put in this collection (what it should hold now)."""
        out: set[str] = set()
        for folder in self._version_folders():
            if self._uses_this_collection(folder):
                out.update(read_keys(folder))
        return out

    def _count(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"],
                                 consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def _present_keys(self, expected: set[str]) -> set[str]:
        """The collection's keys: the expected set when the count agrees, else a full scan (a crashed run)."""
        count = self._count()
        if count == len(expected):
            return expected
        self.say(f"milvus: {self.collection} holds {count} vectors, the versions on disk explain "
                 f"{len(expected)}; reconciling")
        present: set[str] = set()
        it = self.client.query_iterator(self.collection, batch_size=10_000, filter="", output_fields=["id"])
        try:
            while batch := it.next():
                present.update(str(r["id"]) for r in batch)
        finally:
            it.close()
        return present

    def _insert(self, rows: list[int], hexes: list[str], passages: Sequence[Passage], vectors: np.ndarray,
                lexical: str) -> None:
        for lo in range(0, len(rows), INSERT_BATCH):
            batch = []
            for i in rows[lo:lo + INSERT_BATCH]:
                p = passages[i]
                row: dict[str, Any] = {"id": hexes[i], "passage_id": p.id, "doc_id": p.doc_id,
                                       "vector": np.asarray(vectors[i], dtype=np.float32).tolist()}
                if lexical == "milvus":
                    row["lexical"] = _clip(" ".join(bm25_tokens(lexical_text(p))) or "_")
                batch.append(row)
            # Plain insert: these keys are known absent (counted, or scanned after a crash).
            self.client.insert(self.collection, batch)

    def _flush(self, expected: int) -> None:
        """Persist, then wait until searches see every row. (Milvus builds segment indexes in the
        background; Milvus Lite searches a new segment exactly until its index is built.)"""
        self.client.flush(self.collection)
        deadline = time.monotonic() + 60
        while self._count() < expected and time.monotonic() < deadline:
            time.sleep(0.2)

    # -- after publish -----------------------------------------------------------------------------------
    def after_publish(self) -> list[str]:
        """Delete keys no remaining version uses, and collections no remaining version names."""
        keep = self._expected_present()
        stale = sorted(self._present - keep)
        for lo in range(0, len(stale), INSERT_BATCH):
            self.client.delete(self.collection, ids=stale[lo:lo + INSERT_BATCH])
        if stale:
            self.client.flush(self.collection)
        dropped = self._drop_unused_collections()
        if stale or dropped:
            self.say(f"milvus: deleted {len(stale)} stale vectors"
                     + (f"; dropped {', '.join(dropped)}" if dropped else ""))
        return dropped

    def _named_collections(self) -> set[str]:
        """The collections in this Milvus that this index's version folders name."""
        return {str(d.get("collection")) for d in map(_dense_section, self._version_folders())
                if d.get("store") == "milvus" and d.get("uri") == self.uri}

    def _drop_unused_collections(self) -> list[str]:
        """Collections the retired versions named (a new model, BM25 moved), or ours left by a crash."""
        named = self._named_collections()
        prefix = self.collection.split("_")[:2]
        dropped = []
        for name in self.client.list_collections():
            if name not in named and (name in self._named or name.split("_")[:2] == prefix):
                self.client.drop_collection(name)
                dropped.append(name)
        return dropped


def _dense_section(folder: Path) -> dict[str, Any]:
    from index.store import MANIFEST

    try:
        return dict(json.loads((folder / MANIFEST).read_text("utf-8")).get("dense") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= MAX_TEXT_BYTES else data[:MAX_TEXT_BYTES].decode("utf-8", "ignore")


def same_store(manifest: dict[str, Any], sync: MilvusSync | None) -> bool:
    """Whether the current version already lives where this run would put it (no migration needed)."""
    dense = manifest.get("dense") or {}
    if sync is None:
        return dense.get("store", "faiss") == "faiss"
    return dense.get("store") == "milvus" and dense.get("uri") == sync.uri


def make_sync(index_dir: Path, store: str | None, uri: str | None, current: dict[str, Any] | None,
              say: Callable[[str], Any] | None = None, **options: Any) -> MilvusSync | None:
    """The Milvus work of an ingest run, or None for FAISS. ``store``/``uri`` None: keep the current store."""
    dense = (current or {}).get("dense") or {}
    if store is None:
        store = "milvus" if uri is not None else str(dense.get("store", "faiss"))
    if store not in STORES:
        raise InputError(f"unknown store {store!r}: use one of {', '.join(STORES)}")
    if store == "faiss":
        if uri is not None:
            raise InputError("--milvus-uri needs --store milvus")
        return None
    uri = uri or dense.get("uri")
    if not uri:
        raise InputError("--store milvus needs --milvus-uri (a .db file for Milvus Lite, or http://host:19530)")
    return MilvusSync(index_dir, str(uri), say=say, **options)


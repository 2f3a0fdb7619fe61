"""Bringing a Milvus collection in line with a new version: the write side of ``MilvusStore``.

``MilvusSync.insert`` creates the collection if needed, inserts only the keys this version adds
(``milvus_keys.npy``, see ``index.milvus_store``) and returns the manifest's ``dense`` section;
``after_publish`` deletes the keys
no kept version uses (the same two versions ``index.versions`` keeps on disk) and drops collections no
kept version names. Key bookkeeping trusts the versions on disk, and reconciles with a full scan when
the collection's count disagrees (a run killed before publishing).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import IndexError_, InputError
from footnote.index import dense as dense_params
from footnote.index.lexical import BM25_PARAMS
from footnote.index.milvus_store import (
    KEYS,
    client,
    hex_keys,
    normalize_uri,
    read_keys,
    runs_lite,
    server_version,
    short_error,
)
from footnote.index.text import analyzer, dense_text, lexical_text
from footnote.ingest.models import Passage

LEXICAL = ("auto", "milvus", "local")
# Index types Milvus Lite builds; it accepts IVF_PQ, DISKANN and SCANN at create time and fails later.
LITE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "HNSW_SQ", "AUTOINDEX")
KEY_BYTES = 16
MAX_TEXT_BYTES = 65_535
INSERT_BATCH = 2_000


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

    # -- before publish --------------------------------------------------------------------------------
    def insert(self, folder: Path, passages: Sequence[Passage], vectors: np.ndarray, model: dict[str, Any],
               requested: str) -> dict[str, Any]:
        """Insert the vectors of the version being built in ``folder`` that the collection lacks, write its
        ``milvus_keys.npy``; the manifest's ``dense`` section."""
        dim = int(model["dim"])
        kind = dense_params.choose_kind(len(passages), requested)
        index_type = self.index_type or ("HNSW" if kind == "hnsw" else "FLAT")
        lexical = self._lexical()
        self.collection = collection_name(self.index_dir, str(model["sha256"]), lexical)
        lexical = self._ensure_collection(dim, lexical, index_type)
        keys = keys_of(passages)
        hexes = hex_keys(keys)
        self._named = self._named_collections()
        self._present = self._present_keys(self._expected_present())
        missing = [i for i, k in enumerate(hexes) if k not in self._present]
        self._insert(missing, hexes, passages, vectors, lexical)
        self._present.update(hexes[i] for i in missing)
        self._flush(len(self._present))
        np.save(folder / KEYS, keys, allow_pickle=False)
        info: dict[str, Any] = {
            "store": "milvus", "uri": self.uri, "collection": self.collection, "kind": kind,
            "index_type": index_type, "metric": "ip", "lexical": lexical, "requested": requested,
            "server": server_version(self.uri), "keys": "blake2b-16(passage id \\0 dense text)",
        }
        if index_type.startswith("HNSW"):
            info.update(M=dense_params.HNSW_M, ef_construction=dense_params.HNSW_EF_CONSTRUCTION,
                        ef_search=dense_params.ef_search_for(len(passages)))
        self.say(f"milvus: {len(missing)} vectors inserted, {len(hexes) - len(missing)} reused in "
                 f"{self.collection} ({'Milvus Lite' if self.lite else 'Milvus'} at {self.uri}, {index_type}, "
                 f"BM25 {'in Milvus' if lexical == 'milvus' else 'local'})")
        return info

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
                                  f"({short_error(exc)})") from exc
            # A deployment without the BM25 function (Milvus < 2.5): BM25 stays local.
            self.say(f"milvus: no BM25 function at {self.uri} ({short_error(exc)}); BM25 stays local")
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
        from footnote.index import versions

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
                    row["lexical"] = _clip(" ".join(analyzer.terms(lexical_text(p))) or "_")
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
    from footnote.index.manifest import MANIFEST

    try:
        return dict(json.loads((folder / MANIFEST).read_text("utf-8")).get("dense") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= MAX_TEXT_BYTES else data[:MAX_TEXT_BYTES].decode("utf-8", "ignore")

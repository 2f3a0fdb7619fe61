"""Bringing a Milvus collection in line with the versions of one index folder: the write side of ``MilvusStore``.

``write_version`` creates the collection if needed, inserts only the keys a new version adds, writes its
``milvus_keys.npy`` and returns the manifest's ``dense`` section. ``retire`` runs after a publish, before the
versions no longer kept leave the disk: it deletes the keys only they use and drops the collections no kept
version names. Both read what they need from the version folders on disk (manifests and key files), so no
call depends on another having run. The bookkeeping trusts the versions on disk, and reconciles with a full
scan when the collection's count disagrees: what a run killed before publishing inserted is deleted then.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import IndexError_, InputError
from footnote.index import dense as dense_params
from footnote.index import versions
from footnote.index.lexical import BM25_PARAMS
from footnote.index.manifest import read_manifest
from footnote.index.milvus.connect import client, runs_lite, server_version, short_error
from footnote.index.milvus.keys import KEY_BYTES, RECIPE, hex_keys, keys_of, read_keys, write_keys
from footnote.index.text import analyzer, lexical_text
from footnote.ingest.models import Passage

LEXICAL = ("auto", "milvus", "local")
# Index types Milvus Lite builds; it accepts IVF_PQ, DISKANN and SCANN at create time and fails later.
LITE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "HNSW_SQ", "AUTOINDEX")
MAX_TEXT_BYTES = 65_535
BATCH = 2_000  # keys per insert or delete call

Say = Callable[[str], Any]


def collection_prefix(index_dir: Path) -> str:
    """What every collection of one index folder is named from (its own path: once published, ``index_dir``
    is a symlink to the current version)."""
    where = hashlib.blake2b(str(index_dir.parent.resolve() / index_dir.name).encode(), digest_size=5).hexdigest()
    return f"footnote_{where}"


def collection_name(index_dir: Path, model_sha: str, lexical: str) -> str:
    """Per index folder and model (a new model is a new collection); ``_bm25`` when Milvus does BM25."""
    return f"{collection_prefix(index_dir)}_{model_sha[:8]}" + ("_bm25" if lexical == "milvus" else "")


def check_index_type(uri: str, index_type: str | None) -> None:
    """Refuse an index type that the Milvus at ``uri`` accepts but cannot build (Milvus Lite)."""
    if index_type and index_type not in LITE_INDEX_TYPES and runs_lite(uri):
        raise InputError(f"Milvus Lite does not build {index_type} indexes; use one of {', '.join(LITE_INDEX_TYPES)}")


# --- the versions on disk ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Version:
    name: str
    folder: Path
    dense: dict[str, Any]  # the manifest's section of the vector store

    def at(self, uri: str) -> bool:
        """Whether this version keeps its vectors in the Milvus at ``uri``."""
        return self.dense.get("store") == "milvus" and self.dense.get("uri") == uri

    def holds(self, collection: str) -> bool:
        """Whether this version keeps its vectors in ``collection`` (of this index, so whatever the URI)."""
        return self.dense.get("store") == "milvus" and self.dense.get("collection") == collection


def _versions(index_dir: Path) -> list[_Version]:
    """Every version folder of ``index_dir`` whose manifest reads (a damaged one holds no vectors anyone reads)."""
    folder = versions.versions_dir(index_dir)
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not (path.is_dir() and versions.is_version(path.name)):
            continue
        try:
            found.append(_Version(path.name, path, dict(read_manifest(path).dense)))
        except IndexError_:
            continue
    return found


def _keys(of: Iterable[_Version]) -> set[str]:
    out: set[str] = set()
    for version in of:
        out.update(read_keys(version.folder))
    return out


# --- writing a version -----------------------------------------------------------------------------------

def write_version(uri: str, index_dir: Path, folder: Path, passages: Sequence[Passage], vectors: np.ndarray,
                  model: dict[str, Any], requested: str, *, lexical: str, index_type: str | None,
                  say: Say) -> dict[str, Any]:
    """Insert the vectors of the version being built in ``folder`` that the collection lacks and write its
    ``milvus_keys.npy``; the manifest's ``dense`` section. ``lexical``: auto|milvus|local."""
    c = client(uri)
    lite = runs_lite(uri)
    kind = dense_params.choose_kind(len(passages), requested)
    index_type = index_type or ("HNSW" if kind == "hnsw" else "FLAT")
    wanted = lexical if lexical != "auto" else "local" if lite else "milvus"
    collection = collection_name(index_dir, str(model["sha256"]), wanted)
    collection, used = _ensure_collection(c, uri, collection, int(model["dim"]), wanted, lexical == "milvus",
                                          index_type, say)
    keys = keys_of(passages)
    hexes = hex_keys(keys)
    expected = _keys(v for v in _versions(index_dir) if v.holds(collection))
    present = _present_keys(c, collection, expected, say)
    strays = sorted(present - expected - set(hexes))
    _delete(c, collection, strays)
    missing = [i for i, k in enumerate(hexes) if k not in present]
    _insert(c, collection, missing, hexes, passages, vectors, used)
    _flush(c, collection, len(present) - len(strays) + len(missing))
    write_keys(folder, keys)
    info: dict[str, Any] = {
        "store": "milvus", "uri": uri, "collection": collection, "kind": kind, "index_type": index_type,
        "metric": "ip", "lexical": used, "requested": requested, "server": server_version(uri), "keys": RECIPE,
    }
    if index_type.startswith("HNSW"):
        info.update(M=dense_params.HNSW_M, ef_construction=dense_params.HNSW_EF_CONSTRUCTION,
                    ef_search=dense_params.ef_search_for(len(passages)))
    say(f"milvus: {len(missing)} vectors inserted, {len(hexes) - len(missing)} reused in {collection} "
        f"({'Milvus Lite' if lite else 'Milvus'} at {uri}, {index_type}, "
        f"BM25 {'in Milvus' if used == 'milvus' else 'local'})")
    return info


def _ensure_collection(c: Any, uri: str, collection: str, dim: int, lexical: str, insist: bool, index_type: str,
                       say: Say) -> tuple[str, str]:
    """(collection, lexical): the collection, made if needed. Where Milvus has no BM25 function (before 2.5),
    BM25 stays local unless ``insist``."""
    from pymilvus import DataType, Function, FunctionType

    if c.has_collection(collection):
        _ensure_index(c, collection, index_type, say)
        c.load_collection(collection)
        return collection, lexical
    schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=2 * KEY_BYTES)
    schema.add_field("passage_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    index = c.prepare_index_params()
    index.add_index("vector", index_type=index_type, metric_type="IP", params=_build_params(index_type))
    if lexical == "milvus":
        schema.add_field("lexical", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["lexical"], output_field_names=["sparse"]))
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": BM25_PARAMS["k1"], "bm25_b": BM25_PARAMS["b"]})
    try:
        c.create_collection(collection, schema=schema, index_params=index)
    except Exception as exc:
        if lexical != "milvus" or insist:
            raise IndexError_(f"cannot create collection {collection} in Milvus at {uri} "
                              f"({short_error(exc)})") from exc
        say(f"milvus: no BM25 function at {uri} ({short_error(exc)}); BM25 stays local")
        return _ensure_collection(c, uri, collection.removesuffix("_bm25"), dim, "local", insist, index_type, say)
    return collection, lexical


def _build_params(index_type: str) -> dict[str, Any]:
    if index_type.startswith("HNSW"):
        return {"M": dense_params.HNSW_M, "efConstruction": dense_params.HNSW_EF_CONSTRUCTION}
    if index_type.startswith("IVF"):
        return {"nlist": 1024}
    return {}


def _ensure_index(c: Any, collection: str, index_type: str, say: Say) -> None:
    """Rebuild the vector index in place when the corpus crossed the flat/HNSW threshold."""
    current = (c.describe_index(collection, "vector") or {}).get("index_type")
    if current == index_type:
        return
    say(f"milvus: rebuilding the {collection} vector index as {index_type} (was {current})")
    c.release_collection(collection)
    c.drop_index(collection, "vector")
    index = c.prepare_index_params()
    index.add_index("vector", index_type=index_type, metric_type="IP", params=_build_params(index_type))
    c.create_index(collection, index)


def _count(c: Any, collection: str) -> int:
    rows = c.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"])


def _present_keys(c: Any, collection: str, expected: set[str], say: Say) -> set[str]:
    """The collection's keys: the expected set when the count agrees, else a full scan (a crashed run)."""
    count = _count(c, collection)
    if count == len(expected):
        return expected
    say(f"milvus: {collection} holds {count} vectors, the versions on disk explain {len(expected)}; reconciling")
    present: set[str] = set()
    it = c.query_iterator(collection, batch_size=10_000, filter="", output_fields=["id"])
    try:
        while batch := it.next():
            present.update(str(r["id"]) for r in batch)
    finally:
        it.close()
    return present


def _insert(c: Any, collection: str, rows: list[int], hexes: list[str], passages: Sequence[Passage],
            vectors: np.ndarray, lexical: str) -> None:
    for lo in range(0, len(rows), BATCH):
        batch = []
        for i in rows[lo:lo + BATCH]:
            p = passages[i]
            row: dict[str, Any] = {"id": hexes[i], "passage_id": p.id, "doc_id": p.doc_id,
                                   "vector": np.asarray(vectors[i], dtype=np.float32).tolist()}
            if lexical == "milvus":
                row["lexical"] = _clip(" ".join(analyzer.terms(lexical_text(p))) or "_")
            batch.append(row)
        # Plain insert: these keys are known absent (counted, or scanned after a crash).
        c.insert(collection, batch)


def _delete(c: Any, collection: str, keys: list[str]) -> None:
    for lo in range(0, len(keys), BATCH):
        c.delete(collection, ids=keys[lo:lo + BATCH])
    if keys:
        c.flush(collection)


def _flush(c: Any, collection: str, expected: int) -> None:
    """Persist, then wait until searches see every row. (Milvus builds segment indexes in the
    background; Milvus Lite searches a new segment exactly until its index is built.)"""
    c.flush(collection)
    deadline = time.monotonic() + 60
    while _count(c, collection) < expected and time.monotonic() < deadline:
        time.sleep(0.2)


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= MAX_TEXT_BYTES else data[:MAX_TEXT_BYTES].decode("utf-8", "ignore")


# --- retiring versions -----------------------------------------------------------------------------------

def retire(uri: str, index_dir: Path, keep: set[str], say: Say) -> None:
    """Delete the keys only the versions not in ``keep`` use, and the collections no kept version names: those
    the leaving versions named (a new model, BM25 moved) and this index's own left by a crash."""
    on_disk = _versions(index_dir)
    kept = [v for v in on_disk if v.name in keep]
    leaving = [v for v in on_disk if v.name not in keep]
    named = {str(v.dense.get("collection")) for v in kept if v.at(uri)}
    c = client(uri)
    stale = 0
    for collection in sorted(named):
        gone = _keys(v for v in leaving if v.holds(collection)) - _keys(v for v in kept if v.holds(collection))
        _delete(c, collection, sorted(gone))
        stale += len(gone)
    left = {str(v.dense.get("collection")) for v in leaving if v.at(uri)}
    prefix = collection_prefix(index_dir).split("_")
    dropped = []
    for name in c.list_collections():
        if name not in named and (name in left or name.split("_")[:2] == prefix):
            c.drop_collection(name)
            dropped.append(name)
    if stale or dropped:
        say(f"milvus: deleted {stale} stale vectors" + (f"; dropped {', '.join(dropped)}" if dropped else ""))

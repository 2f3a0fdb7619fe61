"""``MilvusStore``: the ``VectorStore`` that keeps passage vectors in Milvus (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import IndexError_, InputError, SettingError
from footnote.index import versions
from footnote.index.files import MILVUS_KEYS
from footnote.index.lexical import BM25Retriever
from footnote.index.manifest import Manifest, read_manifest
from footnote.index.milvus.collection import LEXICAL, check_index_type, retire, write_version
from footnote.index.milvus.connect import client, normalize_uri, short_error
from footnote.index.milvus.keys import read_keys
from footnote.index.milvus.search import MilvusBM25Retriever, MilvusVectors
from footnote.ingest.models import Passage

NO_URI = "the milvus store needs one: a .db file for Milvus Lite, or http://host:19530"


class MilvusStore:
    """Passage vectors in one Milvus collection per index folder and model, shared by versions and replicas.

    ``uri`` None: the URI the index's current version records (for reading, each version's own). ``lexical``:
    auto (Milvus's BM25 on a real server, the local ``bm25/`` on Milvus Lite), milvus, or local;
    ``index_type``: the vector index (default FLAT, HNSW from 30,000 passages as with FAISS). Every method
    works from its arguments and what is on disk: none needs another to have run first.
    """

    name = "milvus"

    def __init__(self, uri: str | None, *, lexical: str = "auto", index_type: str | None = None) -> None:
        if lexical not in LEXICAL:
            raise InputError(f"unknown lexical mode {lexical!r}: use one of {', '.join(LEXICAL)}")
        self.uri = normalize_uri(uri) if uri is not None else None
        self.lexical = lexical
        self.index_type = index_type.upper() if index_type else None

    def _uri(self, index_dir: Path) -> str:
        """This store's URI, else the one the current version of ``index_dir`` records."""
        if self.uri is not None:
            return self.uri
        folder = versions.resolve(index_dir)
        try:
            current = read_manifest(folder) if folder is not None else None
        except IndexError_:
            current = None
        if current is None or current.store != self.name:
            raise SettingError("milvus_uri", NO_URI)
        return str(current.dense["uri"])

    def check(self, index_dir: Path, say: Callable[[str], Any] | None = None) -> None:
        uri = self._uri(index_dir)
        client(uri)
        check_index_type(uri, self.index_type)

    def write(self, index_dir: Path, folder: Path, passages: Sequence[Passage], vectors: np.ndarray,
              manifest: Manifest, requested: str, say: Callable[[str], Any] | None = None) -> dict[str, Any]:
        uri = self._uri(index_dir)
        check_index_type(uri, self.index_type)
        return write_version(uri, index_dir, folder, passages, vectors, manifest.model, requested,
                             lexical=self.lexical, index_type=self.index_type, say=say or (lambda line: None))

    def open(self, folder: Path, manifest: Manifest) -> MilvusVectors:
        """This version's vectors, at this store's URI (which may name the recorded server anew) or the recorded one."""
        uri = self.uri or str(manifest.dense["uri"])
        info = {**manifest.dense, "dim": manifest.dim}
        try:
            keys = read_keys(folder)
        except (OSError, ValueError) as exc:
            raise IndexError_(f"the index at {folder} is damaged: {MILVUS_KEYS} ({exc.__class__.__name__}); "
                              f"re-run `footnote ingest`") from exc
        made = client(uri)
        try:
            present = made.has_collection(info["collection"])
        except Exception as exc:
            raise IndexError_(f"cannot reach Milvus at {uri} ({short_error(exc)})") from exc
        if not present:
            raise IndexError_(f"Milvus at {uri} has no collection {info['collection']} for this index; "
                              f"re-run `footnote ingest` with the milvus store at {uri}")
        made.load_collection(info["collection"])
        return MilvusVectors(uri, info, keys)

    def open_bm25(self, vectors: object, model: Any, passages: Sequence[Passage]) -> BM25Retriever:
        """Milvus's BM25 when the version's collection has it, else the local ``bm25/`` index."""
        if isinstance(vectors, MilvusVectors) and vectors.lexical == "milvus":
            return MilvusBM25Retriever(model, passages, vectors)
        return BM25Retriever(model, passages)

    def holds(self, manifest: Manifest) -> bool:
        return manifest.store == self.name and manifest.dense.get("uri") == (self.uri or manifest.dense.get("uri"))

    def retire(self, index_dir: Path, keep: set[str], say: Callable[[str], Any] | None = None) -> None:
        retire(self._uri(index_dir), index_dir, keep, say or (lambda line: None))

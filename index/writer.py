"""Writing one complete version folder (its files: ``index.files``) and reading back what an incremental
update can reuse from the previous one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from footnote.index.files import (
    BM25_DIR,
    DOCUMENTS,
    PASSAGE_VECTORS,
    PASSAGES,
    SENTENCE_OFFSETS,
    SENTENCE_VECTORS,
    read_jsonl,
    write_jsonl,
)
from footnote.index.lexical import build_bm25, save_bm25
from footnote.index.manifest import Manifest, read_manifest
from footnote.index.text import dense_text, lexical_text
from footnote.index.vectors import VectorStore
from footnote.ingest.models import Document, Passage


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


@dataclass
class Previous:
    """What the current version offers to the next build."""

    folder: Path
    manifest: Manifest
    documents: dict[str, Document] = field(default_factory=dict)
    passages: dict[str, list[Passage]] = field(default_factory=dict)  # doc_id -> passages in order
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # source path -> manifest entry
    passage_rows: dict[bytes, int] = field(default_factory=dict)  # dense text key -> row
    sentence_rows: dict[bytes, int] = field(default_factory=dict)  # sentence text key -> row
    passage_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


def read_previous(folder: Path, *, with_vectors: bool) -> Previous:
    """The previous version's documents and passages (and, when the model matches, its vectors)."""
    manifest = read_manifest(folder)
    prev = Previous(folder, manifest)
    prev.entries = {e["source"]: e for e in manifest.documents}
    prev.documents = {d.doc_id: d for d in map(Document.from_dict, read_jsonl(folder / DOCUMENTS))}
    passages = [Passage.from_dict(r) for r in read_jsonl(folder / PASSAGES)]
    for p in passages:
        prev.passages.setdefault(p.doc_id, []).append(p)
    if with_vectors:
        pv = np.load(folder / PASSAGE_VECTORS, allow_pickle=False, mmap_mode="r")
        sv = np.load(folder / SENTENCE_VECTORS, allow_pickle=False, mmap_mode="r")
        offsets = np.load(folder / SENTENCE_OFFSETS, allow_pickle=False)
        if pv.shape[0] != len(passages) or offsets.shape != (len(passages) + 1,) or offsets[-1] != sv.shape[0]:
            raise ValueError("vector files do not match passages.jsonl")
        prev.passage_vectors, prev.sentence_vectors = pv, sv
        for row, p in enumerate(passages):
            prev.passage_rows[text_key(dense_text(p))] = row
            text = prev.documents[p.doc_id].text
            if int(offsets[row + 1] - offsets[row]) != len(p.sentences):
                continue  # built without sentence vectors (update_index(sentences=False))
            for j, (s, e) in enumerate(p.sentences):
                prev.sentence_rows[text_key(text[s:e])] = int(offsets[row]) + j
    return prev


def gather_vectors(texts: Sequence[str], cache: dict[bytes, int], stored: np.ndarray | None,
                   embed: Any, dim: int, desc: str) -> tuple[np.ndarray, list[int]]:
    """Vectors for ``texts``: stored rows where the same text was embedded before, the rest embedded
    now (each distinct text once). Returns the matrix and the positions that were embedded."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    missing: dict[bytes, list[int]] = {}
    pending: list[str] = []
    for i, t in enumerate(texts):
        key = text_key(t)
        row = cache.get(key) if stored is not None else None
        if row is not None:
            out[i] = stored[row]  # type: ignore[index]
        else:
            if key not in missing:
                missing[key] = []
                pending.append(t)
            missing[key].append(i)
    if pending:
        vecs = embed(pending, desc=desc)
        for vec, positions in zip(vecs, missing.values(), strict=True):
            out[positions] = vec
    return out, [i for positions in missing.values() for i in positions]


def count_missing(texts: Sequence[str], cache: dict[bytes, int]) -> int:
    """How many distinct ``texts`` ``gather_vectors`` would embed (none of them cached)."""
    return len({key for key in map(text_key, texts) if key not in cache})


def sentence_texts(documents: dict[str, Document], passages: Sequence[Passage]) -> tuple[list[str], np.ndarray]:
    texts: list[str] = []
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    for i, p in enumerate(passages):
        text = documents[p.doc_id].text
        texts.extend(text[s:e] for s, e in p.sentences)
        offsets[i + 1] = len(texts)
    return texts, offsets


def write_version(folder: Path, manifest: Manifest, documents: Sequence[Document], passages: Sequence[Passage],
                  passage_vectors: np.ndarray, sentence_vectors: np.ndarray, sentence_offsets: np.ndarray,
                  vector_store: VectorStore, index_dir: Path, requested: str,
                  say: Callable[[str], Any]) -> Manifest:
    """Write every file of one version into ``folder``, the passage vectors through ``vector_store``;
    the manifest goes last, naming each file's size. Returns the manifest written."""
    write_jsonl(folder / DOCUMENTS, [d.to_dict() for d in documents])
    write_jsonl(folder / PASSAGES, [p.to_dict() for p in passages])
    np.save(folder / PASSAGE_VECTORS, passage_vectors.astype(np.float32), allow_pickle=False)
    np.save(folder / SENTENCE_VECTORS, sentence_vectors.astype(np.float32), allow_pickle=False)
    np.save(folder / SENTENCE_OFFSETS, sentence_offsets.astype(np.int64), allow_pickle=False)
    save_bm25(build_bm25([lexical_text(p) for p in passages]), folder / BM25_DIR)
    dense = vector_store.write(index_dir, folder, passages, passage_vectors, manifest, requested, say)
    return manifest.replace(dense=dense).write(folder)

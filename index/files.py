"""The files of one index version folder: every name, here only.

Row ``i`` of every array, of the vector store and of the BM25 matrix is ``passages[i]``, the ``i``-th line
of ``passages.jsonl``; nothing else maps rows to passages::

    manifest.json          index.manifest.Manifest: format, model and its weights sha256, chunking, documents,
                           counts, the vector store's section (dense), file sizes
    documents.jsonl        one Document per line (Document.to_dict())
    passages.jsonl         one Passage per line (Passage.to_dict()), in row order
    dense.faiss            FaissStore: the passage vectors' FAISS index (IndexFlatIP or IndexHNSWFlat), or
    milvus_keys.npy        MilvusStore: row i's key in the Milvus collection (index.milvus)
    passage_vectors.npy    float32 (passages, dim), unit rows; reused by incremental updates
    sentence_vectors.npy   float32 (sentences, dim), unit rows, passage by passage, sentence by sentence
    sentence_offsets.npy   int64 (passages + 1): passage i's sentences are rows offsets[i]:offsets[i+1]
    bm25/                  bm25s.BM25.save() output (numpy arrays + JSON, no pickles)

``index.load`` reads a folder, ``index.writer`` writes one, ``index.versions`` names and switches them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
MILVUS_KEYS = "milvus_keys.npy"
PASSAGE_VECTORS = "passage_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
BM25_DIR = "bm25"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")

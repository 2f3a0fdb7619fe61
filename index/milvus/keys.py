"""Milvus primary keys: content-addressed, so one collection serves every version of an index at once.

A passage's key hashes its id and the exact text the model embedded. A version folder's
``milvus_keys.npy`` holds row ``i``'s key; a reader keeps the hits whose key its own version knows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from footnote.index.files import MILVUS_KEYS
from footnote.index.text import dense_text
from footnote.ingest.models import Passage

KEY_BYTES = 16
RECIPE = "blake2b-16(passage id \\0 dense text)"  # what the manifest's dense section says of the keys


def vector_key(p: Passage) -> bytes:
    """The Milvus primary key of a passage: its id and the exact text the model embedded."""
    return hashlib.blake2b(f"{p.id}\0{dense_text(p)}".encode(), digest_size=KEY_BYTES).digest()


def keys_of(passages: Sequence[Passage]) -> np.ndarray:
    """``(n, 16)`` uint8: row ``i`` is passage ``i``'s key."""
    out = np.zeros((len(passages), KEY_BYTES), dtype=np.uint8)
    for i, p in enumerate(passages):
        out[i] = np.frombuffer(vector_key(p), dtype=np.uint8)
    return out


def hex_keys(keys: np.ndarray) -> list[str]:
    """``(n, 16)`` uint8 keys as the hex strings Milvus stores as primary keys."""
    return [bytes(row).hex() for row in keys]


def write_keys(folder: Path, keys: np.ndarray) -> None:
    np.save(folder / MILVUS_KEYS, keys, allow_pickle=False)


def read_keys(folder: Path) -> list[str]:
    """A version folder's keys, row by row, as hex strings."""
    return hex_keys(np.load(folder / MILVUS_KEYS, allow_pickle=False))

"""Embedders for index tests: subclasses of the real ``Embedder``, never mocks.

``CountingEmbedder`` is the real model that records what it was asked to embed. ``HashingEmbedder`` skips
the model (for subprocess crash tests, where loading torch would dominate): hashed bag-of-words vectors
that still run every line of the real storage, FAISS and retrieval code.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from footnote.index.embed import Embedder


class CountingEmbedder(Embedder):
    """The real all-MiniLM-L6-v2 (shared, loaded once per process), recording every batch of texts.

    Vectors are memoized by text across instances: many tests build indexes of the same two documents
    and the model's output for a text never changes, so each distinct text goes through the model once.
    """

    _memo: dict[str, np.ndarray] = {}

    def __init__(self, explode_after: int | None = None) -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.explode_after = explode_after

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed(self, texts: Sequence[str], *, progress: bool | None = None, desc: str = "embedding") -> np.ndarray:
        if self.explode_after is not None and len(self.calls) >= self.explode_after:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of embedding
        self.calls.append(list(texts))
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            for text, vec in zip(todo, super().embed(todo, progress=progress, desc=desc), strict=True):
                self._memo[text] = vec
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._memo[text]
        return out


class HashingEmbedder(Embedder):
    """No model: each word adds a hashed direction; vectors are unit length like the real ones."""

    def __init__(self, dim: int = 64) -> None:  # deliberately skips loading a model
        self.path = Path("hashing-embedder")
        self.name = "hashing-embedder"
        self.sha256 = hashlib.sha256(b"hashing-embedder").hexdigest()
        self.dim = dim
        self.batch_size = 64
        self.max_seq_length = 0
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, progress: bool | None = None, desc: str = "embedding") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = float(np.linalg.norm(out[i]))
            out[i] = out[i] / norm if norm else 1.0 / np.sqrt(self.dim)
        return out

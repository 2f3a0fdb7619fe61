"""What every retriever returns: ranked ``Hit``s, and the one ``search(query, k)`` interface."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from footnote.errors import InputError
from footnote.ingest.models import Passage


class Mode(StrEnum):
    """How to retrieve: fused dense + BM25 (the default), embeddings alone, or BM25 alone."""

    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"

    @classmethod
    def parse(cls, value: str) -> Mode:
        """The mode named ``value`` (``InputError`` naming the modes otherwise)."""
        try:
            return cls(value)
        except ValueError:
            raise InputError(f"unknown search mode {value!r}: use one of {', '.join(cls)}") from None


@dataclass(frozen=True)
class Hit:
    """One retrieved passage and its score (higher is better; scales differ between modes)."""

    passage: Passage
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.passage.to_dict(), "score": self.score}


class Retriever(Protocol):
    def search(self, query: str, k: int, query_vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first (fewer when fewer match)."""
        ...

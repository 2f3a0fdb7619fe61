"""The fixed tune / held-out split: which questions the reader's weights and thresholds may be fitted on.

A question's side depends only on its id and the seed (a hash, not a shuffle), so adding questions to a
set never moves the existing ones. The split is by question: the shipped set has two documents and the
SQuAD file one article, too few to split by document. A set with many documents can split by document
instead: questions that name a ``group`` (eval/sets/wiki-topics.jsonl: their document) take its side.
Every figure reported as "held-out" is on questions whose side is ``heldout``; ``footnote train-reader``
fits on ``tune`` only (docs/reader.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypeVar

SEED = 11
HELDOUT_SHARE = 0.5
TUNE, HELDOUT = "tune", "heldout"

T = TypeVar("T")


def side(question_id: str, seed: int = SEED) -> str:
    """``tune`` or ``heldout`` for this question id."""
    digest = hashlib.sha256(f"{seed}:{question_id}".encode()).digest()
    return HELDOUT if int.from_bytes(digest[:8], "big") / 2**64 < HELDOUT_SHARE else TUNE


def split_key(item: object, key: str = "id") -> str:
    """What decides an item's side (an object or a dict): its ``group`` when it names one, else its id."""
    group = item.get("group") if isinstance(item, dict) else getattr(item, "group", None)
    return str(group or (item[key] if isinstance(item, dict) else getattr(item, key)))


def pick(items: Iterable[T], which: str, key: str = "id", seed: int = SEED) -> list[T]:
    """The items (objects or dicts with an id, and maybe a ``group``) on side ``which``."""
    return [item for item in items if side(split_key(item, key), seed) == which]

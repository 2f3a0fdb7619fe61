"""The two halves the fusion benchmarks report figures on: ``dev``, where the hand-chosen settings of
``index/fit.py`` were picked, and ``test``, held out (queries shuffled with a fixed seed)."""

from __future__ import annotations

import random

SEED = 0


def halves(ids: list[str]) -> dict[str, set[str]]:
    """``{"all", "dev", "test"}``: every id, and the two halves of them."""
    shuffled = sorted(ids)
    random.Random(SEED).shuffle(shuffled)
    dev = set(shuffled[: len(shuffled) // 2])
    return {"all": set(ids), "dev": dev, "test": set(ids) - dev}

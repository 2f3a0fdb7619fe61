"""The quality guard: the minimums in ``eval/thresholds.json`` that a run of a shipped set is held to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from footnote.eval.dataset import BLIND_SET, WIKI_SET

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"


def guarded_set(sets: Sequence[Path]) -> str | None:
    """Whose minimums in ``thresholds.json`` a run of ``sets`` is checked against: ``"default"`` (no sets: the
    shipped set), ``"blind"`` (the blind set alone), ``"wiki-topics"`` (that set alone, on its documents), or None
    (any other sets: a user's own have none here)."""
    if not sets:
        return "default"
    if len(sets) == 1:
        for name, path in (("blind", BLIND_SET), ("wiki-topics", WIKI_SET)):
            if Path(sets[0]).resolve() == path.resolve():
                return name
    return None


def guard_lines(report: dict[str, Any], sets: Sequence[Path]) -> list[str]:
    """What ``footnote eval`` prints about the minimums a run of ``sets`` is held to (nothing for a user's sets)."""
    which = guarded_set(sets)
    if which is None:
        return []
    below = check_thresholds(report, which=which)
    verdict = "met" if not below else "BELOW: " + "; ".join(below)
    if which == "default":
        return [f"thresholds (eval/thresholds.json): {verdict}"]
    if which == "wiki-topics" and report["config"].get("corpus") is None:
        return []  # its minimums hold on its own documents (--corpus eval/sets/wiki-topics), not on another index
    return [f"{which} set: nothing was fitted on it, so every column is on unseen questions",
            f"thresholds (eval/thresholds.json, {which}): {verdict}"]


def check_thresholds(report: dict[str, Any], path: Path = THRESHOLDS, which: str = "default") -> list[str]:
    """The minimums of ``thresholds.json`` that ``report`` falls below, as lines (empty: all met).

    The top level holds the shipped set's minimums (``which="default"``); ``"blind"`` is the blind set's, whose
    ``answers`` are over every question (none of it was fitted on).
    """
    limits = json.loads(Path(path).read_text("utf-8"))
    if which != "default":
        limits = limits[which]
    below = []
    for mode, minimums in limits.get("retrieval", {}).items():
        for name, minimum in minimums.items():
            value = report["retrieval"].get(mode, {}).get(name)
            if value is not None and value < minimum:
                below.append(f"{mode} {name} {value:.3f} < {minimum}")
    for name, minimum in limits.get("answers", {}).items():
        value = (report.get("answers") or {}).get(name)
        if value is not None and value < minimum:
            below.append(f"answers {name} {value:.3f} < {minimum}")
    # The reader was fitted on the tune side: its figures are guarded on the held-out side.
    heldout = (report.get("splits") or {}).get("heldout") or {}
    for name, minimum in limits.get("heldout", {}).items():
        value = heldout.get(name)
        if value is None or value < minimum:
            below.append(f"held-out {name} {'n/a' if value is None else f'{value:.3f}'} < {minimum}")
    return below

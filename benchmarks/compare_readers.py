"""Two readers on the same unseen questions, question by question (docs/reader.md quotes it).

    .venv/bin/python benchmarks/compare_readers.py OLD NEW [--sets shipped,blind,wiki,normans,real]

OLD and NEW are report folders as ``benchmarks/bench_reader.py --reports DIR`` writes them, one per reader,
with the same indexes. For each set (on the side ``bench_reader`` reports: the held-out half of the shipped
set, wiki-topics and Normans, all of the others), a question counts as right in SQuAD 2.0's sense: the answer
quoted, or silence on an unanswerable question. Overall figures of two readers differ by the questions one
gets right and the other wrong; on sets of 50 to 250 questions a handful of them moves a figure by several
points, so the table gives those counts and a two-sided sign test on them, per set and pooled over the sets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SETS = ("shipped", "blind", "wiki", "normans", "real")
HELD_OUT = {"shipped", "wiki", "normans"}


def _right(folder: Path, name: str) -> dict[str, bool]:
    from footnote.eval.confidence import squad2_right
    from footnote.eval.split import HELDOUT, pick

    report: dict[str, Any] = json.loads((folder / name / "report.json").read_text("utf-8"))
    rows = pick(report["questions"], HELDOUT) if name in HELD_OUT else report["questions"]
    return {row["id"]: squad2_right(row) for row in rows}


def compare(old: Path, new: Path, sets: tuple[str, ...] = SETS) -> list[dict[str, Any]]:
    """Per set present in both folders, then pooled: questions, right by each, right by one only, sign test."""
    from footnote.eval.metrics import sign_test

    out = []
    for name in sets:
        if not ((old / name / "report.json").is_file() and (new / name / "report.json").is_file()):
            continue
        a, b = _right(old, name), _right(new, name)
        ids = sorted(set(a) & set(b))
        out.append({"set": name, "questions": len(ids), "old": sum(a[i] for i in ids),
                    "new": sum(b[i] for i in ids), "old only": sum(a[i] and not b[i] for i in ids),
                    "new only": sum(b[i] and not a[i] for i in ids)})
    if out:
        out.append({"set": "pooled", **{k: sum(row[k] for row in out) for k in
                                        ("questions", "old", "new", "old only", "new only")}})
    for row in out:
        row["p"] = round(sign_test(row["new only"], row["old only"]), 3)
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args(argv)
    rows = compare(args.old, args.new, tuple(s.strip() for s in args.sets.split(",") if s.strip()))
    if not rows:
        raise SystemExit(f"no set has a report.json in both {args.old} and {args.new}")
    print("| set | questions | right, old | right, new | old only | new only | sign test p |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['set']} | {r['questions']} | {r['old']} | {r['new']} | {r['old only']} | {r['new only']} "
              f"| {r['p']:.3f} |")
    return rows


if __name__ == "__main__":
    main()

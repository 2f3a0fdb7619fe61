"""Side by side: what changed between two reports, metric by metric and question by question."""

from __future__ import annotations

from typing import Any


def _rank_key(rank: int | None) -> float:
    return float(rank) if rank is not None else float("inf")


def _rank_text(rank: int | None) -> str:
    return str(rank) if rank is not None else "-"


def question_changes(old: dict[str, Any], new: dict[str, Any], modes: list[str]) -> tuple[list[str], list[str]]:
    """(improvements, regressions) of one question between two reports, as short sentences."""
    better: list[str] = []
    worse: list[str] = []
    for mode in modes:
        before = old.get("retrieval", {}).get(mode, {}).get("rank")
        after = new.get("retrieval", {}).get(mode, {}).get("rank")
        if not new["answerable"] or _rank_key(before) == _rank_key(after):
            continue
        line = f"{mode} rank {_rank_text(before)} -> {_rank_text(after)}"
        (better if _rank_key(after) < _rank_key(before) else worse).append(line)
    a, b = old.get("answer"), new.get("answer")
    if a is not None and b is not None:
        if new["answerable"] and a["answer_found"] != b["answer_found"]:
            line = f"answer found {'yes' if a['answer_found'] else 'no'} -> {'yes' if b['answer_found'] else 'no'}"
            (better if b["answer_found"] else worse).append(line)
        if not new["answerable"] and a["grounded"] != b["grounded"]:
            line = f"abstained {'no' if a['grounded'] else 'yes'} -> {'no' if b['grounded'] else 'yes'}"
            (better if not b["grounded"] else worse).append(line)
    return better, worse


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Metric deltas per mode and the questions that got better, worse or both."""
    modes = [m for m in new.get("retrieval", {}) if m in old.get("retrieval", {})]
    deltas: dict[str, dict[str, dict[str, float]]] = {}
    for mode in modes:
        deltas[mode] = {
            name: {"old": old["retrieval"][mode][name], "new": value, "delta": value - old["retrieval"][mode][name]}
            for name, value in new["retrieval"][mode].items()
            if isinstance(old["retrieval"][mode].get(name), int | float)
        }
    old_answers, new_answers = old.get("answers") or {}, new.get("answers") or {}
    deltas["answers"] = {
        name: {"old": old_answers[name], "new": value, "delta": value - old_answers[name]}
        for name, value in new_answers.items()
        if isinstance(value, int | float) and isinstance(old_answers.get(name), int | float)
    }
    before = {q["id"]: q for q in old.get("questions", [])}
    improved, regressed, mixed = [], [], []
    for q in new.get("questions", []):
        if q["id"] not in before:
            continue
        better, worse = question_changes(before[q["id"]], q, modes)
        row = {"id": q["id"], "question": q["question"], "better": better, "worse": worse}
        if better and worse:
            mixed.append(row)
        elif better:
            improved.append(row)
        elif worse:
            regressed.append(row)
    new_ids = {q["id"] for q in new.get("questions", [])}
    return {
        "old_created": old.get("created"),
        "old_config": old.get("config"),
        "deltas": deltas,
        "improved": improved,
        "regressed": regressed,
        "mixed": mixed,
        "only_old": sorted(set(before) - new_ids),
        "only_new": sorted(new_ids - set(before)),
    }


SHOWN = ("hit@1", "hit@5", "mrr@10", "ndcg@10", "answer_found", "evidence_quoted", "verbatim",
         "abstention_recall", "latency_p50_ms")


def format_compare(result: dict[str, Any]) -> str:
    lines = [f"compared with the report of {result.get('old_created') or 'unknown date'}:"]
    for group, values in result["deltas"].items():
        parts = [f"{name} {v['old']:.3f}->{v['new']:.3f} ({v['delta']:+.3f})"
                 for name, v in values.items() if name in SHOWN]
        if parts:
            lines.append(f"  {group}: " + ", ".join(parts))
    for title, key in (("improved", "improved"), ("regressed", "regressed"), ("mixed", "mixed")):
        rows = result[key]
        lines.append(f"{title} ({len(rows)}):")
        for row in rows:
            lines.append(f"  {row['id']}: " + "; ".join(row["better"] + row["worse"]))
    return "\n".join(lines)

"""Answer metrics over per-question records: found, abstention, quote precision, SQuAD 2.0, confidence.

``answer_metrics`` summarises any list of records; ``split_metrics`` does it for the tune and held-out
sides of the fixed split (``eval.split``), so fitted figures are always reported on questions the fit
never saw.
"""

from __future__ import annotations

from typing import Any

from footnote.eval import metrics as m
from footnote.eval import split


def squad2_right(record: dict[str, Any]) -> bool:
    """SQuAD 2.0's view of one question: right answer quoted, or silence on an unanswerable one."""
    ans = record["answer"]
    return bool(ans["answer_found"]) if record["answerable"] else not ans["grounded"]


def answer_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer figures of ``records`` (each with an ``answer`` scored by ``eval.judge.score_answer``)."""
    answerable = [r for r in records if r["answerable"]]
    notes = [f for r in records for f in r["answer"]["footnotes"]]
    n = max(len(answerable), 1)
    latencies = [r["answer"]["latency_ms"] for r in records if "latency_ms" in r["answer"]]
    confidence = [float(r["answer"].get("confidence") or 0.0) for r in records]
    return {
        "questions": len(records),
        "answer_found": sum(r["answer"]["answer_found"] for r in answerable) / n,
        "evidence_quoted": sum(r["answer"]["evidence_quoted"] for r in answerable) / n,
        "verbatim": sum(f["verbatim"] for f in notes) / len(notes) if notes else 1.0,
        "footnotes": len(notes),
        # Of every quote given, the share holding an expected answer or evidence (quotes given to an
        # unanswerable question hold neither).
        "quote_precision": sum(f.get("relevant", False) for f in notes) / len(notes) if notes else None,
        "false_abstention": sum(not r["answer"]["grounded"] for r in answerable) / n,
        **m.abstention_scores([not r["answer"]["grounded"] for r in records], [r["answerable"] for r in records]),
        "squad2_overall": sum(squad2_right(r) for r in records) / len(records) if records else None,
        "confidence_auroc": m.auroc(confidence, [r["answerable"] for r in records]),
        "latency_p50_ms": m.percentile(latencies, 50),
        "latency_p95_ms": m.percentile(latencies, 95),
    }


def coverage_curve(records: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Risk-coverage: precision of the answers given when answering only the most confident share."""
    confidence = [float(r["answer"].get("confidence") or 0.0) for r in records]
    correct = [bool(r["answerable"] and r["answer"]["answer_found"]) for r in records]
    # The answer found is judged on the quotes actually given; an abstained question counts as not right
    # at any coverage (its quotes were not shown).
    return [{"coverage": c, "precision": p, "confidence": t} for c, p, t in m.risk_coverage(confidence, correct)]


def split_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"tune": figures, "heldout": figures, ...curves}`` over the fixed split of the questions."""
    out: dict[str, Any] = {}
    for which in (split.TUNE, split.HELDOUT):
        rows = split.pick(records, which)
        if rows:
            out[which] = {**answer_metrics(rows), "risk_coverage": coverage_curve(rows)}
    return out

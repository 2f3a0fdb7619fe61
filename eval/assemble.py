"""The report of one eval run, built from its per-question records: figures per mode, per kind and per side.

A report is plain JSON (``report.json``, versioned by ``footnote_eval``); ``eval.report`` prints and renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from footnote.eval import metrics as m
from footnote.eval import split
from footnote.eval.confidence import answer_metrics, split_metrics

if TYPE_CHECKING:
    from footnote.index.load import Index

REPORT_VERSION = 1
HIT_CURVE_DEPTH = 10  # the hit curve runs from hit@1 to hit@10


def assemble(records: list[dict[str, Any]], modes: Sequence[str], answer_ms: list[float],
             search_ms: dict[str, list[float]], config: dict[str, Any], index: Index, top_k: int,
             depth: int) -> dict[str, Any]:
    """The report of ``records`` (each question's retrieval runs are scored here and dropped from the record)."""
    answerable = [r for r in records if r["answerable"]]
    retrieval: dict[str, dict[str, float]] = {}
    hit_curve: dict[str, list[float]] = {}
    for mode in modes:
        per_query = {}
        for r in answerable:
            run = r["retrieval"][mode].pop("run")
            per_query[r["id"]] = r["retrieval"][mode]["metrics"] = m.query_metrics(run, r["relevant"])
        retrieval[mode] = m.mean_metrics(per_query.values())
        ranks = [r["retrieval"][mode]["rank"] for r in answerable]
        hit_curve[mode] = [sum(1 for x in ranks if x is not None and x <= k) / max(len(ranks), 1)
                           for k in range(1, HIT_CURVE_DEPTH + 1)]
        retrieval[mode]["latency_p50_ms"] = m.percentile(search_ms[mode], 50)
        retrieval[mode]["latency_p95_ms"] = m.percentile(search_ms[mode], 95)
    if answer_ms:
        config = {**config, "split": {"by": "question", "seed": split.SEED, "heldout_share": split.HELDOUT_SHARE}}
    report: dict[str, Any] = {
        "footnote_eval": REPORT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            **config,
            "modes": list(modes),
            "questions": len(records),
            "answerable": len(answerable),
            "with_history": sum(1 for r in records if r["history"]),
            "top_k": top_k,
            "depth": depth,
            "index_version": index.version,
            "chunking": index.manifest.chunking,
            "passages": len(index.passages),
        },
        "retrieval": retrieval,
        "hit_curve": hit_curve,
        "answers": answer_metrics(records) if answer_ms else None,
        "splits": split_metrics(records) if answer_ms else None,
        "by_kind": by_kind(records, modes),
        "questions": records,
    }
    return report


def by_kind(records: list[dict[str, Any]], modes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """hit@5 per mode and the share of answers found (or, for unanswerable kinds, abstained) per kind."""
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({r["kind"] or "-" for r in records}):
        rows = [r for r in records if (r["kind"] or "-") == kind]
        answerable = [r for r in rows if r["answerable"]]
        entry: dict[str, Any] = {"questions": len(rows)}
        if answerable:
            for mode in modes:
                entry[f"{mode}/hit@5"] = sum(r["retrieval"][mode]["metrics"]["hit@5"] for r in answerable) / len(
                    answerable)
        if rows[0]["answer"] is not None:
            if answerable:
                entry["answer_found"] = sum(r["answer"]["answer_found"] for r in answerable) / len(answerable)
            else:
                entry["abstained"] = sum(not r["answer"]["grounded"] for r in rows) / len(rows)
        out[kind] = entry
    return out


def flat_metrics(report: dict[str, Any]) -> dict[str, float | None]:
    """``{"hybrid/hit@5": ..., "answers/answer_found": ...}``: one dict a sweep can tabulate."""
    flat: dict[str, float | None] = {}
    for mode, values in report["retrieval"].items():
        flat.update({f"{mode}/{k}": v for k, v in values.items()})
    for k, v in (report.get("answers") or {}).items():
        flat[f"answers/{k}"] = v
    return flat

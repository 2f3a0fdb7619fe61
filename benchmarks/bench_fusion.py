"""Hybrid fusion before (RRF k0=60, equal weights) and now (convex, weights fitted at ingest) against each
mode alone, on the BEIR sets in ../shared/external/beir and on the shipped eval, and what fitting costs.

    .venv/bin/python benchmarks/bench_fusion.py [--data ../shared/external/beir] [--sets dbpedia,arcd]
        [--work /tmp/footnote-fusion]   # keeps the BEIR indexes: a second run embeds nothing
        [--out bench-results/fusion.json] [--markdown]

Every figure is given on all queries and on two halves (queries shuffled with seed 0): ``dev`` is the
half the hand-chosen settings of ``index/fit.py`` (SHRINK, and best-sentence scoring) were picked on, for the
shipped eval; ``test`` is held out. The fitted weights themselves use no labels. BEIR indexes are built
without sentence vectors, as ``footnote eval --beir`` builds them, so best-sentence scoring plays no part
there. Fitting cost: ``benchmarks/bench_fit.py`` (fresh ``footnote ingest`` runs of the default corpus, the
fit's own time as ingest prints it); query latency: p50 of the hybrid search, before and now, on the same
queries in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench_fit import ingest_cost
from bench_fit import markdown as cost_table
from halves import halves

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODES = ("bm25", "dense", "rrf", "hybrid")


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def weights(fusion: dict[str, Any]) -> str:
    return f"{fusion['dense_weight']:.2f} : {fusion['bm25_weight']:.2f}"


def search_latency(index: Any, queries: list[str], repeats: int = 5) -> dict[str, float]:
    """p50 ms of one hybrid search for 10 hits, RRF against the fitted fusion, the query vector given (the
    embedding is the same for both), the two interleaved so load from other jobs hits both alike."""
    from footnote.index.hybrid import FusionParams

    retrievers = {"rrf": index.retriever("hybrid", fusion=FusionParams()), "hybrid": index.retriever("hybrid")}
    vectors = {q: index.embed_query(q) for q in queries}
    times: dict[str, list[float]] = {name: [] for name in retrievers}
    for _ in range(repeats):
        for q in queries:
            for name, retriever in retrievers.items():
                started = time.perf_counter()
                retriever.search(q, 10, query_vector=vectors[q])
                times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def beir_set(name: str, data_dir: Path, work: Path) -> dict[str, Any]:
    from footnote.eval.beir import load_beir, score_retrievers, write_corpus
    from footnote.index.build import update_index
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import load

    data = load_beir(data_dir / name)
    qrels = {q: g for q, g in data.qrels.items() if q in data.queries and any(v > 0 for v in g.values())}
    doc_ids = write_corpus(data, work / name / "docs")
    started = time.perf_counter()
    built = update_index([work / name / "docs"], work / name / "index", echo=lambda line: None, sentences=False)
    print(f"{name}: {built.summary()} ({time.perf_counter() - started:.0f}s)", flush=True)
    index = load(work / name / "index")
    retrievers = {"bm25": index.retriever("bm25"), "dense": index.retriever("dense"),
                  "rrf": index.retriever("hybrid", fusion=FusionParams()), "hybrid": index.retriever("hybrid")}
    k = min(len(index.passages), 1000)
    metrics, per_query, _ = score_retrievers(retrievers, data, qrels, doc_ids, k)
    out: dict[str, Any] = {"queries": len(qrels), "passages": len(index.passages), "fusion": index.fusion_status(),
                           "ndcg@10": {}, "latency_p50_ms": search_latency(index, [data.queries[q] for q in qrels])}
    for split, ids in halves(list(qrels)).items():
        out["ndcg@10"][split] = {m: mean([per_query[m][q]["ndcg@10"] for q in ids]) for m in MODES}
    return out


def shipped(work: Path) -> dict[str, Any]:
    from footnote.eval.dataset import load_sets
    from footnote.eval.loop import evaluate_index
    from footnote.index.build import update_index
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import load

    update_index([ROOT / "corpus"], work / "default" / "index", echo=lambda line: None)
    index = load(work / "default" / "index")
    questions = load_sets([])
    now = evaluate_index(index, questions, modes=("hybrid", "dense", "bm25"), answers=True)
    before = evaluate_index(index, questions, modes=("hybrid",), fusion=FusionParams(), answers=True)
    # The same fitted weights with best-sentence scoring on (off by default, docs/benchmarks.md says why).
    whole = evaluate_index(index, questions, modes=("hybrid",), fusion=replace(index.fusion, sentences=True),
                           answers=False)
    records = {"now": {r["id"]: r for r in now["questions"]}, "before": {r["id"]: r for r in before["questions"]},
               "whole": {r["id"]: r for r in whole["questions"]}}
    answerable = [r["id"] for r in now["questions"] if r["answerable"]]
    out: dict[str, Any] = {"questions": len(questions), "answerable": len(answerable),
                           "fusion": index.fusion_status(), "splits": {},
                           "latency_p50_ms": search_latency(index, [r["query"] for r in now["questions"]])}
    for split, ids in halves(answerable).items():
        row: dict[str, Any] = {}
        for mode, source, key in (("bm25", "now", "bm25"), ("dense", "now", "dense"), ("rrf", "before", "hybrid"),
                                  ("hybrid", "now", "hybrid"), ("whole", "whole", "hybrid")):
            rec = [records[source][q] for q in ids]
            row[mode] = {name: mean([r["retrieval"][key]["metrics"][name] for r in rec])
                         for name in ("hit@1", "hit@5", "mrr@10", "ndcg@10")}
        row["answer_found"] = {src: mean([float(records[src][q]["answer"]["answer_found"]) for q in ids])
                               for src in ("before", "now")}
        out["splits"][split] = row
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["| set (queries), split | metric | bm25 | dense | hybrid before (RRF) | hybrid now (fitted) "
             "| fitted dense : bm25 |", "|---|---|--:|--:|--:|--:|---|"]
    for name, res in result["beir"].items():
        for split in ("all", "dev", "test"):
            nd = res["ndcg@10"][split]
            lines.append(f"| {name} ({res['queries']}), {split} | nDCG@10 | " + " | ".join(
                f"{nd[m]:.3f}" for m in MODES) + f" | {weights(res['fusion'])} |")
    ship = result["shipped"]
    for split in ("all", "dev", "test"):
        row = ship["splits"][split]
        for metric in ("hit@1", "mrr@10"):
            lines.append(f"| shipped eval ({ship['answerable']} answerable), {split} | {metric} | " + " | ".join(
                f"{row[m][metric]:.3f}" for m in MODES) + f" | {weights(ship['fusion'])} |")
    lines.append("")
    lines.append("| shipped eval, split | hybrid hit@1 / MRR@10 with best-sentence scoring (off) "
                 "| whole passage only (default) |")
    lines.append("|---|--:|--:|")
    for split in ("all", "dev", "test"):
        row = ship["splits"][split]
        lines.append(f"| {split} | {row['whole']['hit@1']:.3f} / {row['whole']['mrr@10']:.3f} "
                     f"| {row['hybrid']['hit@1']:.3f} / {row['hybrid']['mrr@10']:.3f} |")
    cost = result.get("ingest")
    if cost:
        lines += ["", f"Fitting, `footnote ingest` of the default corpus from scratch (median of {cost['runs']}):",
                  "", cost_table(cost)]
    lat = [f"{name} {res['latency_p50_ms']['rrf']:.2f} -> {res['latency_p50_ms']['hybrid']:.2f} ms"
           for name, res in [*result["beir"].items(), ("shipped eval", ship)]]
    lines.append("Hybrid search for 10 hits, query vector given, p50, RRF -> fitted: " + "; ".join(lat) + ".")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "external" / "beir")
    parser.add_argument("--sets", default="dbpedia,arcd")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "footnote-fusion")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "fusion.json")
    parser.add_argument("--no-ingest-cost", action="store_true", help="skip bench_fit.py's fresh ingests")
    parser.add_argument("--markdown", action="store_true", help="print the tables of docs/benchmarks.md")
    args = parser.parse_args()

    result: dict[str, Any] = {"beir": {}}
    for name in [s for s in args.sets.split(",") if s]:
        result["beir"][name] = beir_set(name, args.data, args.work)
        print(json.dumps({name: result["beir"][name]["ndcg@10"]["all"]}), flush=True)
    result["shipped"] = shipped(args.work)
    print(json.dumps({"shipped": result["shipped"]["splits"]["all"]}), flush=True)
    if not args.no_ingest_cost:
        result["ingest"] = ingest_cost()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), "utf-8")
    print(markdown(result) if args.markdown else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

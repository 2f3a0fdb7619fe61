"""The best any fusion of the two rankings could do on a BEIR set, with the labels (an oracle, not a method):
sweeps convex weights under several normalisations and weighted RRF, against each mode alone and the fit.

    .venv/bin/python benchmarks/bench_fusion_oracle.py [--data ../shared/external/beir] [--sets dbpedia,arcd]
        [--work /tmp/footnote-fusion]   # the indexes bench_fusion.py keeps; built there if missing
        [--out bench-results/fusion-oracle.json]

Each query's dense and BM25 top 1,000 passages are computed once and cached in ``WORK/SET/lists.json`` (the
query embedding is the slow part), then fused offline exactly as ``footnote eval --beir`` ranks documents
(a document scored by its best passage, nDCG@10 over the queries with a relevant document). Families: convex
``w * norm(cos) + (1 - w) * norm(bm25)`` with ``w`` in 0, 0.05, ..., 1 and min-max between the best and the
20th/50th/100th/1000th score (50: Footnote's), z-score over the top 50 or 1000, theoretical bounds
(cosine as is, BM25 over its best score); RRF with k0 in 1, 10, 30, 60, 100 and dense weight 0.5 to 0.9.
The best row is chosen on all queries, so it is an upper bound, not a figure any label-free fit could claim;
the dev/test halves (``halves.py``, as bench_fusion.py splits them) show how much of it is noise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from halves import halves  # benchmarks/halves.py, next to this script

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Lists = dict[str, tuple[list[int], list[float]]]
Ranker = Callable[[Lists], list[tuple[int, float]]]
WEIGHTS = tuple(round(0.05 * i, 2) for i in range(21))


def cached_lists(name: str, data_dir: Path, work: Path) -> tuple[dict[str, Lists], list[str], Any, dict[str, Any]]:
    """Per query the dense and BM25 (rows, scores) top 1,000, the passages' doc ids, the data, the index's fusion."""
    from footnote.eval.beir import load_beir, write_corpus

    data = load_beir(data_dir / name)
    cache = work / name / "lists.json"
    if not cache.is_file():
        from footnote.index.build import update_index
        from footnote.index.load import load

        if not (work / name / "index").exists():
            write_corpus(data, work / name / "docs")
            update_index([work / name / "docs"], work / name / "index", echo=lambda line: None, sentences=False)
        index = load(work / name / "index")
        qrels = {q: g for q, g in data.qrels.items() if q in data.queries and any(v > 0 for v in g.values())}
        dense, bm25 = index.retriever("dense"), index.retriever("bm25")
        vectors = index.embed_queries([data.queries[q] for q in qrels])
        lists = {q: {"dense": dense.search_rows(v, 1000), "bm25": bm25.search_rows(data.queries[q], 1000)}
                 for q, v in zip(qrels, vectors, strict=True)}
        cache.write_text(json.dumps({"lists": lists, "docs": [p.doc_id for p in index.passages],
                                     "fusion": index.fusion_status()}), "utf-8")
    saved = json.loads(cache.read_text("utf-8"))
    return saved["lists"], saved["docs"], data, saved["fusion"]


def minmax(depth: int) -> Callable[[np.ndarray], np.ndarray]:
    def norm(s: np.ndarray) -> np.ndarray:
        lo, hi = s[min(depth, len(s)) - 1], s[0]
        return np.clip((s - lo) / (hi - lo), 0.0, None) if hi > lo else (s >= hi).astype(np.float64)
    return norm


def zscore(depth: int) -> Callable[[np.ndarray], np.ndarray]:
    def norm(s: np.ndarray) -> np.ndarray:
        top = s[:depth]
        return (s - top.mean()) / (float(top.std()) or 1.0)
    return norm


def by_max(s: np.ndarray) -> np.ndarray:
    return s / s[0] if s[0] > 0 else s


def as_is(s: np.ndarray) -> np.ndarray:
    return s


def convex(norm_dense: Callable[[np.ndarray], np.ndarray], norm_bm25: Callable[[np.ndarray], np.ndarray],
           w: float) -> Ranker:
    def rank(lists: Lists) -> list[tuple[int, float]]:
        fused: dict[int, float] = {}
        for (rows, scores), norm, weight in ((lists["dense"], norm_dense, w), (lists["bm25"], norm_bm25, 1 - w)):
            if not weight or not rows:
                continue
            for row, value in zip(rows, norm(np.asarray(scores, dtype=np.float64)).tolist(), strict=True):
                fused[row] = fused.get(row, 0.0) + weight * value
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    return rank


def rrf(k0: float, w: float) -> Ranker:
    def rank(lists: Lists) -> list[tuple[int, float]]:
        fused: dict[int, float] = {}
        for (rows, _), weight in ((lists["dense"], w), (lists["bm25"], 1 - w)):
            for i, row in enumerate(rows, 1):
                fused[row] = fused.get(row, 0.0) + weight / (k0 + i)
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    return rank


def rankers() -> dict[str, Ranker]:
    out: dict[str, Ranker] = {}
    for w in WEIGHTS:
        for depth in (20, 50, 100, 1000):
            out[f"convex min-max@{depth} w={w:g}"] = convex(minmax(depth), minmax(depth), w)
        for depth in (50, 1000):
            out[f"convex z-score@{depth} w={w:g}"] = convex(zscore(depth), zscore(depth), w)
        out[f"convex theoretical w={w:g}"] = convex(as_is, by_max, w)
    for k0 in (1, 10, 30, 60, 100):
        for w in (0.5, 0.6, 0.7, 0.8, 0.9):
            out[f"rrf k0={k0:g} w={w:g}"] = rrf(k0, w)
    return out


def ndcg(ranker: Ranker, lists: dict[str, Lists], docs: Sequence[str], doc_ids: dict[str, str],
         qrels: dict[str, dict[str, int]], splits: dict[str, set[str]]) -> dict[str, float]:
    from footnote.eval import metrics as m

    run: dict[str, dict[str, float]] = {}
    for q in qrels:
        best: dict[str, float] = {}
        for row, score in ranker(lists[q]):
            beir_id = doc_ids.get(docs[row])
            if beir_id is not None and (beir_id not in best or score > best[beir_id]):
                best[beir_id] = score
        run[q] = dict(sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:100])
    _, per_query = m.evaluate(run, qrels)
    return {split: sum(per_query[q]["ndcg@10"] for q in ids) / len(ids) for split, ids in splits.items()}


def oracle(name: str, data_dir: Path, work: Path) -> dict[str, Any]:
    lists, docs, data, fusion = cached_lists(name, data_dir, work)
    qrels = {q: g for q, g in data.qrels.items() if q in lists}
    doc_ids = {f"d{i:07d}": beir_id for i, beir_id in enumerate(data.corpus)}
    splits = halves(list(qrels))
    fitted_w = fusion["dense_weight"] / max(fusion["dense_weight"] + fusion["bm25_weight"], 1e-12)
    rows = {"bm25": convex(as_is, as_is, 0.0), "dense": convex(as_is, as_is, 1.0),
            "fitted": convex(minmax(50), minmax(50), fitted_w), **rankers()}
    scores = {label: ndcg(r, lists, docs, doc_ids, qrels, splits) for label, r in rows.items()}
    best = max((k for k in scores if k not in ("bm25", "dense", "fitted")), key=lambda k: scores[k]["all"])
    best_dev = max((k for k in scores if k not in ("bm25", "dense", "fitted")), key=lambda k: scores[k]["dev"])
    return {"queries": len(qrels), "fitted_dense_weight": fitted_w, "best": best, "best_on_dev": best_dev,
            "ndcg@10": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "external" / "beir")
    parser.add_argument("--sets", default="dbpedia,arcd")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "footnote-fusion")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "fusion-oracle.json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    result = {name: oracle(name, args.data, args.work) for name in args.sets.split(",") if name}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), "utf-8")
    print("| set | row | nDCG@10 all | dev | test |\n|---|---|--:|--:|--:|")
    for name, res in result.items():
        nd = res["ndcg@10"]
        picked = [("bm25", "bm25"), ("dense", "dense"), ("fitted", f"fitted (dense {res['fitted_dense_weight']:.2f})"),
                  (res["best"], f"oracle: {res['best']}"), (res["best_on_dev"], f"best on dev: {res['best_on_dev']}")]
        for key, label in picked:
            print(f"| {name} ({res['queries']}) | {label} | {nd[key]['all']:.3f} | {nd[key]['dev']:.3f} "
                  f"| {nd[key]['test']:.3f} |")


if __name__ == "__main__":
    main()

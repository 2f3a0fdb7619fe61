"""Choose the defaults of the retrieval and answer stages on an eval set, and print the comparison.

Three sweeps, each through ``eval.loop.evaluate_index`` (the same retrievers and ``Answerer`` a user calls):

1. passage size ``chunk_tokens`` x sentence ``overlap``: one index per setting, built in a temp dir;
   retrieval (hybrid, dense, bm25) and answer metrics with the current fusion and answer defaults;
2. fusion (RRF ``k0`` and dense/bm25 weights) on the index of ``--chunk-tokens``/``--overlap``;
   the answerer searches with the fused ranking under test, so answer metrics move with it;
3. the reader's thresholds (``AnswerSettings.abstain_below`` x ``quote_bar``, fitted by
   ``footnote train-reader``) with the index's own fusion, as the answer step searches, or with RRF at ``--k0``
   and the weights given.

One embedder is loaded once and every text it embeds is cached, so passages and sentences shared between
chunkings, and every query, are embedded once for the whole run. Tables go to stdout, everything to
``bench-results/tune.json``.

    .venv/bin/python benchmarks/tune.py [--set eval/sets/default.jsonl] [--out bench-results/tune.json]
        [--chunk-tokens N --overlap N --k0 K --dense-weight W --bm25-weight W]   # the settings swept around
        [--markdown]                                                             # + the docs' tables

With 90 questions one question is 1.1 points of a rate (1.25 of the 80 answerable, 10 of the 10
unanswerable): read differences of a point or two as noise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHUNK_TOKENS = (64, 96, 128, 160, 200, 256)
OVERLAPS = (0, 1)
K0S = (10, 30, 60, 100)
WEIGHTS = ((0.3, 0.7), (0.4, 0.6), (0.5, 0.5), (0.6, 0.4), (0.7, 0.3), (1.0, 0.0), (0.0, 1.0))
ABSTAIN_BELOW = (0.2, 0.3, 0.4, 0.5, 0.6)
QUOTE_BARS = (0.3, 0.5, 0.7)

RETRIEVAL = ("hit@1", "hit@5", "mrr@10", "ndcg@10")
ANSWERS = ("answer_found", "evidence_quoted", "abstention_precision", "abstention_recall", "false_abstention",
           "verbatim")
SHORT = {"answer_found": "found", "evidence_quoted": "quoted", "abstention_precision": "abst_P",
         "abstention_recall": "abst_R", "false_abstention": "false_abst", "verbatim": "verbatim"}


def cached_embedder() -> Any:
    """The process-wide embedder, wrapped so each distinct text is embedded once per run."""
    from footnote.index.embed import Embedder, get_embedder

    base = get_embedder()

    class CachedEmbedder(Embedder):
        def __init__(self) -> None:  # share the loaded model; no second load
            self.__dict__.update(base.__dict__)
            self.cache: dict[str, np.ndarray] = {}
            self.embedded = 0

        def embed(self, texts: Sequence[str], *, progress: bool | None = None,
                  desc: str = "embedding") -> np.ndarray:
            missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
            if missing:
                for text, vec in zip(missing, base.embed(missing, progress=False, desc=desc), strict=True):
                    self.cache[text] = vec
                self.embedded += len(missing)
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i] = self.cache[text]
            return out

    return CachedEmbedder()


def row(report: dict[str, Any], modes: Sequence[str]) -> dict[str, Any]:
    """The tabulated metrics of one report, plus which questions were answered right and which hit@5."""
    from footnote.eval.assemble import flat_metrics

    flat = flat_metrics(report)
    out: dict[str, Any] = {f"{mode}/{k}": flat.get(f"{mode}/{k}") for mode in modes for k in RETRIEVAL}
    out.update({f"answers/{k}": flat.get(f"answers/{k}") for k in ANSWERS})
    records = report["questions"]
    grounded = [r for r in records if r["answer"]["grounded"]]
    # Of the answers given (not abstained), the share that quotes an expected answer; an answer to an
    # unanswerable question counts as wrong.
    out["answers/answer_precision"] = (sum(r["answer"]["answer_found"] for r in grounded) / len(grounded)
                                       if grounded else None)
    out["passages"] = report["config"]["passages"]
    out["found_ids"] = sorted(r["id"] for r in records if r["answer"]["answer_found"])
    out["abstained_ids"] = sorted(r["id"] for r in records if not r["answer"]["grounded"])
    if "hybrid" in modes:
        out["hit5_ids"] = sorted(r["id"] for r in records if r["answerable"]
                                 and (r["retrieval"]["hybrid"]["rank"] or 99) <= 5)
    return out


def versus(rows: list[dict[str, Any]], ref: dict[str, Any]) -> None:
    """Per row, questions gained/lost against the reference row (``+2/-1``): the noise is visible."""
    for r in rows:
        for name in ("found_ids", "hit5_ids"):
            if name in r and name in ref:
                gained = len(set(r[name]) - set(ref[name]))
                lost = len(set(ref[name]) - set(r[name]))
                r[f"vs/{name[:-4]}"] = f"+{gained}/-{lost}"


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(rows: list[dict[str, Any]], keys: list[str], headers: list[str]) -> str:
    cells = [headers] + [[fmt(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(keys))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    """The three tables of docs/evaluation.md (How the defaults were chosen), from a finished run."""
    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    start = result["defaults_at_start"]
    out = ["| tokens / overlap | passages | hybrid hit@1 | hybrid hit@5 | hybrid MRR@10 | hybrid nDCG@10 "
           "| dense hit@1 / @5 | bm25 hit@1 / @5 | answer found | evidence quoted | abstention P / R "
           "| false abstention | ± found |",
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for x in result["chunking"]:
        b = "**" if (x["chunk_tokens"], x["overlap"]) == (start["chunk_tokens"], start["chunk_overlap"]) else ""
        out.append(
            f"| {b}{x['chunk_tokens']} / {x['overlap']}{b} | {x['passages']} | {f(x['hybrid/hit@1'])} "
            f"| {f(x['hybrid/hit@5'])} | {f(x['hybrid/mrr@10'])} | {f(x['hybrid/ndcg@10'])} "
            f"| {f(x['dense/hit@1'])} / {f(x['dense/hit@5'])} | {f(x['bm25/hit@1'])} / {f(x['bm25/hit@5'])} "
            f"| {f(x['answers/answer_found'])} | {f(x['answers/evidence_quoted'])} "
            f"| {f(x['answers/abstention_precision'])} / {f(x['answers/abstention_recall'])} "
            f"| {f(x['answers/false_abstention'])} | {x['vs/found']} |")
    out += ["", "| k0 | dense : bm25 | hit@1 | hit@5 | MRR@10 | nDCG@10 | answer found | abstention P / R "
                "| false abstention | ± |", "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    base = start["fusion"]
    rows = result["fusion"]["rows"]
    single = [x for x in rows if x["dense_weight"] * x["bm25_weight"] == 0]
    mixed = [x for x in rows if x["dense_weight"] * x["bm25_weight"] != 0]
    shown = [x for x in mixed if x["dense_weight"] == x["bm25_weight"] or x["k0"] == base["k0"]]
    best = max(mixed, key=lambda x: (x["answers/answer_found"], x["hybrid/hit@5"]))
    if best not in shown:
        shown.append(best)
    shown.sort(key=lambda x: (x["k0"], x["dense_weight"]))
    for x in shown + single:
        equal = x["dense_weight"] == x["bm25_weight"]
        b = "**" if equal and x["k0"] == base["k0"] else ""
        weights = ("1 : 1" if equal else "dense only" if not x["bm25_weight"] else "bm25 only"
                   if not x["dense_weight"] else f"{x['dense_weight']:g} : {x['bm25_weight']:g}")
        k0 = f"{x['k0']:g}" if x["dense_weight"] and x["bm25_weight"] else "–"
        out.append(
            f"| {b}{k0}{b} | {b}{weights}{b} | {f(x['hybrid/hit@1'])} | {f(x['hybrid/hit@5'])} "
            f"| {f(x['hybrid/mrr@10'])} | {f(x['hybrid/ndcg@10'])} | {f(x['answers/answer_found'])} "
            f"| {f(x['answers/abstention_precision'])} / {f(x['answers/abstention_recall'])} "
            f"| {f(x['answers/false_abstention'])} | {x['vs/hit5']} / {x['vs/found']} |")
    rows = result["thresholds"]["rows"]
    unanswerable = result["questions"] - result["answerable"]
    sems = sorted({x["quote_bar"] for x in rows})
    out += ["", "| abstain_below ↓ quote_bar → | " + " | ".join(f"{s:.2f}" for s in sems) + " |",
            "|---|" + "---|" * len(sems)]
    for abstain_below in sorted({x["abstain_below"] for x in rows}):
        cells = []
        for sem in sems:
            x = next(y for y in rows if y["abstain_below"] == abstain_below and y["quote_bar"] == sem)
            cell = (f"{x['answers/answer_found']:.3f} · {x['abstained_unanswerable']}/{unanswerable} "
                    f"· {x['abstained_answerable']}/{result['answerable']}")
            chosen = (abstain_below, sem) == (start["answers"]["abstain_below"], start["answers"]["quote_bar"])
            cells.append(f"**{cell}**" if chosen else cell)
        out.append(f"| {abstain_below:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "sets" / "default.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "tune.json")
    parser.add_argument("--chunk-tokens", type=int, default=None,
                        help="passage size for sweeps 2 and 3 (default: the current setting)")
    parser.add_argument("--overlap", type=int, default=None)
    parser.add_argument("--k0", type=float, default=None,
                        help="RRF k0 for sweep 3 (default: the index's own fusion, unless a weight is given)")
    parser.add_argument("--dense-weight", type=float, default=None)
    parser.add_argument("--bm25-weight", type=float, default=None)
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args()

    from footnote.eval.dataset import load_set
    from footnote.eval.loop import MODES, evaluate_index
    from footnote.index.build import update_index
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import load
    from footnote.service.answering.answerer import AnswerSettings
    from footnote.settings import Settings

    questions = load_set(args.set)
    defaults = Settings()
    base_fusion = FusionParams()
    base_answers = AnswerSettings()
    embedder = cached_embedder()
    started = time.perf_counter()
    result: dict[str, Any] = {
        "set": str(args.set), "questions": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "defaults_at_start": {"chunk_tokens": defaults.chunk_tokens, "chunk_overlap": defaults.chunk_overlap,
                              "fusion": asdict(base_fusion), "answers": asdict(base_answers)},
    }
    print(f"{len(questions)} questions ({result['answerable']} answerable); defaults: "
          f"{defaults.chunk_tokens} tokens / overlap {defaults.chunk_overlap}, {base_fusion}, "
          f"reader thresholds {asdict(base_answers)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="footnote-tune-") as tmp:
        indexes: dict[tuple[int, int], Path] = {}

        def index_for(tokens: int, overlap: int) -> Any:
            key = (tokens, overlap)
            if key not in indexes:
                folder = Path(tmp) / f"index-{tokens}-{overlap}"
                update_index([args.corpus], folder, chunk_tokens=tokens, overlap=overlap,
                             echo=lambda line: None, embedder=embedder, progress=False)
                indexes[key] = folder
            return load(indexes[key], embedder=embedder)

        def measure(tokens: int, overlap: int, modes: Sequence[str], fusion: Any = None,
                    settings: Any = None) -> dict[str, Any]:
            index = index_for(tokens, overlap)
            # evaluate_index hands the fusion to the answerer as well as to the hybrid retriever.
            report = evaluate_index(index, questions, modes=modes, fusion=fusion, answers=True,
                                    answer_settings=settings)
            return row(report, modes)

        ans5 = [f"answers/{k}" for k in ANSWERS[:5]] + ["answers/answer_precision", "vs/found"]
        ans5_heads = [SHORT[k] for k in ANSWERS[:5]] + ["ans_prec", "±found"]

        # 1. passage size x overlap -------------------------------------------------------------------
        chunking = []
        for tokens in CHUNK_TOKENS:
            for overlap in OVERLAPS:
                chunking.append({"chunk_tokens": tokens, "overlap": overlap, **measure(tokens, overlap, MODES)})
                print(f"  chunking {tokens}/{overlap}: {time.perf_counter() - started:.0f}s", flush=True)
        ref = next((r for r in chunking if (r["chunk_tokens"], r["overlap"])
                    == (defaults.chunk_tokens, defaults.chunk_overlap)), None) \
            or measure(defaults.chunk_tokens, defaults.chunk_overlap, MODES)
        versus(chunking, ref)
        result["chunking"] = chunking
        keys = ["chunk_tokens", "overlap", "passages"] + [f"{m}/{k}" for m in MODES for k in ("hit@1", "hit@5")] \
            + ["hybrid/mrr@10", "hybrid/ndcg@10", "vs/hit5"] + ans5
        heads = ["tokens", "ovl", "psg"] + [f"{m[:3]} {k}" for m in MODES for k in ("h@1", "h@5")] \
            + ["hyb mrr", "hyb ndcg", "±h@5"] + ans5_heads
        print(f"\n1. passage size x overlap (fusion and answer settings at their defaults; ± in questions "
              f"against {defaults.chunk_tokens}/{defaults.chunk_overlap})")
        print(table(chunking, keys, heads))
        print("\n   dense and bm25 MRR@10 / nDCG@10")
        print(table(chunking, ["chunk_tokens", "overlap"] + [f"{m}/{k}" for m in ("dense", "bm25")
                                                             for k in ("mrr@10", "ndcg@10")],
                    ["tokens", "ovl", "den mrr", "den ndcg", "bm25 mrr", "bm25 ndcg"]))

        # 2. fusion ------------------------------------------------------------------------------------
        tokens = args.chunk_tokens if args.chunk_tokens is not None else defaults.chunk_tokens
        overlap = args.overlap if args.overlap is not None else defaults.chunk_overlap
        fusion_rows = []
        for k0 in K0S:
            for dense_w, bm25_w in WEIGHTS:
                if (dense_w == 0 or bm25_w == 0) and k0 != K0S[0]:
                    continue  # one ranking alone: k0 does not change the order
                fusion = replace(base_fusion, k0=float(k0), dense_weight=dense_w, bm25_weight=bm25_w)
                fusion_rows.append({"k0": k0, "dense_weight": dense_w, "bm25_weight": bm25_w,
                                    **measure(tokens, overlap, ("hybrid",), fusion)})
        versus(fusion_rows, measure(tokens, overlap, ("hybrid",), base_fusion))
        print(f"  fusion: {time.perf_counter() - started:.0f}s", flush=True)
        result["fusion"] = {"chunk_tokens": tokens, "overlap": overlap, "rows": fusion_rows}
        print(f"\n2. fusion at {tokens} tokens / overlap {overlap} (the answerer searches with the fusion under "
              f"test; ± against k0={base_fusion.k0:g}, weights {base_fusion.dense_weight:g}/"
              f"{base_fusion.bm25_weight:g})")
        print(table(fusion_rows, ["k0", "dense_weight", "bm25_weight"] + [f"hybrid/{k}" for k in RETRIEVAL]
                    + ["vs/hit5"] + ans5,
                    ["k0", "dense", "bm25", "h@1", "h@5", "mrr", "ndcg", "±h@5"] + ans5_heads))

        # 3. grounding thresholds ---------------------------------------------------------------------
        pinned = {k: v for k, v in (("k0", args.k0), ("dense_weight", args.dense_weight),
                                    ("bm25_weight", args.bm25_weight)) if v is not None}
        # None: the index's own fusion (fitted at ingest), the one the answer step searches with.
        fusion = replace(base_fusion, **pinned) if pinned else None
        threshold_rows = []
        for abstain_below in ABSTAIN_BELOW:
            for quote_bar in QUOTE_BARS:
                settings = replace(base_answers, abstain_below=abstain_below, quote_bar=quote_bar)
                threshold_rows.append({"abstain_below": abstain_below, "quote_bar": quote_bar,
                                       **measure(tokens, overlap, (), fusion, settings)})
        versus(threshold_rows, measure(tokens, overlap, (), fusion, base_answers))
        unanswerable = {q.id for q in questions if not q.answerable}
        for r in threshold_rows:
            r["abstained_unanswerable"] = len(unanswerable & set(r["abstained_ids"]))
            r["abstained_answerable"] = len(set(r["abstained_ids"]) - unanswerable)
        print(f"  thresholds: {time.perf_counter() - started:.0f}s", flush=True)
        result["thresholds"] = {"chunk_tokens": tokens, "overlap": overlap,
                                "fusion": asdict(fusion) if fusion else "the index's own",
                                "rows": threshold_rows}
        searched = fusion.describe() if fusion else "the index's own fusion"
        print(f"\n3. grounding thresholds at {tokens}/{overlap}, {searched} (abstained: on unanswerable of "
              f"{len(unanswerable)}, on answerable of {len(questions) - len(unanswerable)}; ± against "
              "the fitted reader.json)")
        print(table(threshold_rows, ["abstain_below", "quote_bar", "abstained_unanswerable", "abstained_answerable"]
                    + [f"answers/{k}" for k in ANSWERS] + ["answers/answer_precision", "vs/found"],
                    ["abstain_below", "quote_bar", "abst_unans", "abst_ans"] + [SHORT[k] for k in ANSWERS]
                    + ["ans_prec", "±found"]))

    result["seconds"] = round(time.perf_counter() - started, 1)
    result["texts_embedded"] = embedder.embedded
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), "utf-8")
    if args.markdown:
        print("\n" + markdown(result))
    print(f"\n{result['seconds']:.0f}s, {embedder.embedded} texts embedded; wrote {args.out}")


if __name__ == "__main__":
    main()

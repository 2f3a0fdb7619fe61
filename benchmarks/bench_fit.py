"""What fitting the hybrid fusion adds to `footnote ingest`: the default corpus ingested from scratch with the
fit as shipped, with the fit as it was before its re-embedding was bounded, and with no fit at all.

    .venv/bin/python benchmarks/bench_fit.py [--runs 5] [--corpus corpus] [--out bench-results/fit.json]
    .venv/bin/python benchmarks/bench_fit.py --seeds 20   # how the fitted weight varies with the fit's seed

Each run is a fresh process (``footnote ingest CORPUS --index TMP``: imports, model load, parse, embed,
fit, write), the three variants interleaved run by run so load from other jobs hits them alike. Reported per
variant: the median wall time, the median of the fit's own time (``fitted in X s``, printed by ingest), and
the fit's share of its ingest (median over runs); ``none`` is ingest with ``fit_fusion`` replaced by a stub
that fits nothing, so ``now - none`` is the fit's cost measured from outside as well.

``--seeds N`` instead fits the default corpus with seeds 0 to N-1 under each variant of ``VARIANTS`` (the
first fit, the shipped bound, and neighbours of it) and gives, averaged over the seeds, the shipped eval's
hybrid hit@1 and MRR@10 with the weights fitted, on the halves bench_fusion.py uses (``dev``: where the
bound's constants were chosen; ``test``: held out), and how many seeds turned BM25 or dense off.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from halves import halves  # benchmarks/halves.py, next to this script

ROOT = Path(__file__).resolve().parents[1]

# Run in the child before the CLI: "before" restores the fit as first shipped (every passage with two
# sentences or more re-embedded without one held-out sentence, up to 200), "none" skips the fit.
SETUP = {
    "now": "",
    "before": "import footnote.index.fit as f; f.REEMBED_SHARE = 1.0; f.MAX_HELD = 1\n",
    "none": (
        "import footnote.index.fit as f\n"
        "from footnote.index.hybrid import FusionFit, FusionParams\n"
        "f.fit_fusion = lambda documents, passages, *a, **k: FusionFit(FusionParams(method='convex', "
        "dense_weight=0.5, bm25_weight=0.5), fitted=False, seed=0, method=f.METHOD, pseudo_queries=0, "
        "passages=len(passages), why='benchmark: no fit')\n"
    ),
}
# Constants of index/fit.py per variant of the --seeds sweep.
VARIANTS: dict[str, dict[str, float]] = {
    "before: every passage, 1 sentence": {"REEMBED_SHARE": 1.0, "MAX_HELD": 1},
    "now: 1/4 of passages, up to 3 sentences": {},
    "1/4 of passages, up to 2 sentences": {"MAX_HELD": 2},
    "1/4 of passages, 1 sentence": {"MAX_HELD": 1},
    "0.3 of passages, up to 3 sentences": {"REEMBED_SHARE": 0.3},
}
CHILD = "{setup}import sys\nfrom footnote.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def ingest(variant: str, corpus: Path) -> tuple[float, float | None, str]:
    """(wall seconds, the fit's seconds as ingest printed them, the fusion line) of one fresh ingest."""
    with tempfile.TemporaryDirectory(prefix="footnote-fit-") as tmp:
        started = time.perf_counter()
        shown = subprocess.run([sys.executable, "-c", CHILD.format(setup=SETUP[variant]), "ingest", str(corpus),
                                "--index", f"{tmp}/index"], capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - started
    found = re.search(r"fitted in ([0-9.]+) s", shown)
    line = next((x for x in shown.splitlines() if x.startswith("fusion:")), "")
    return wall, float(found.group(1)) if found else None, line


def ingest_cost(corpus: Path = ROOT / "corpus", runs: int = 5,
                variants: tuple[str, ...] = ("none", "before", "now")) -> dict[str, Any]:
    """Medians per variant (see the module doc); ``runs`` rounds, the variants interleaved in each."""
    walls: dict[str, list[float]] = {v: [] for v in variants}
    fits: dict[str, list[float]] = {v: [] for v in variants}
    lines: dict[str, str] = {}
    for _ in range(runs):
        for variant in variants:
            wall, fit, lines[variant] = ingest(variant, corpus)
            walls[variant].append(wall)
            if fit is not None:
                fits[variant].append(fit)
    out: dict[str, Any] = {"corpus": str(corpus), "runs": runs}
    for v in variants:
        row: dict[str, Any] = {"ingest_s": statistics.median(walls[v]), "fusion": lines[v]}
        if fits[v]:
            row["fit_s"] = statistics.median(fits[v])
            row["fit_share"] = statistics.median(f / w for f, w in zip(fits[v], walls[v], strict=True))
        out[v] = row
    if "none" in out:
        for v in variants:
            out[v]["over_none_s"] = out[v]["ingest_s"] - out["none"]["ingest_s"]
    return out


def seed_sweep(corpus: Path, seeds: int) -> dict[str, Any]:
    """Per variant: the fitted dense weight per seed, and the shipped eval's figures averaged over seeds."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np

    import footnote.index.fit as fit
    from footnote.eval.dataset import load_sets
    from footnote.eval.loop import evaluate_index
    from footnote.index.build import update_index
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import load

    defaults = {name: getattr(fit, name) for name in ("REEMBED_SHARE", "MIN_REEMBED", "MAX_HELD")}
    with tempfile.TemporaryDirectory(prefix="footnote-seeds-") as tmp:
        update_index([corpus], Path(tmp) / "index", echo=lambda line: None)
        index = load(Path(tmp) / "index")
        vectors = np.load(index.folder / "passage_vectors.npy")
        sentence_vectors, offsets = index.all_sentence_vectors
        cache: dict[str, np.ndarray] = {}

        def embed(texts: list[str]) -> np.ndarray:  # the same text, the same vector: embed each once
            missing = [t for t in dict.fromkeys(texts) if t not in cache]
            if missing:
                cache.update(zip(missing, index.embedder.embed(missing), strict=True))
            return np.stack([cache[t] for t in texts])

        weights: dict[str, list[float]] = {}
        for variant, constants in VARIANTS.items():
            for name, value in {**defaults, **constants}.items():
                setattr(fit, name, value)
            weights[variant] = [fit.fit_fusion(index.documents, index.passages, vectors, embed,
                                               sentence_vectors=np.asarray(sentence_vectors),
                                               sentence_offsets=offsets, seed=seed).params.dense_weight
                                for seed in range(seeds)]
        for name, value in defaults.items():
            setattr(fit, name, value)
        questions = load_sets([])
        figures: dict[float, dict[str, dict[str, float]]] = {}
        for w in sorted({w for ws in weights.values() for w in ws}):
            report = evaluate_index(index, questions, modes=("hybrid",), answers=False, fusion=FusionParams(
                method="convex", dense_weight=w, bm25_weight=round(1 - w, 2)))
            records = {r["id"]: r["retrieval"]["hybrid"]["metrics"] for r in report["questions"] if r["answerable"]}
            figures[w] = {split: {m: sum(records[q][m] for q in ids) / len(ids) for m in ("hit@1", "mrr@10")}
                          for split, ids in halves(list(records)).items()}
    out: dict[str, Any] = {"seeds": seeds, "variants": {}}
    for variant, ws in weights.items():
        out["variants"][variant] = {
            "weights": ws, "dense_only": ws.count(1.0), "bm25_only": ws.count(0.0),
            **{split: {m: sum(figures[w][split][m] for w in ws) / len(ws) for m in ("hit@1", "mrr@10")}
               for split in ("dev", "test")}}
    return out


def seeds_markdown(sweep: dict[str, Any]) -> str:
    lines = [f"| variant | seed 0 | seeds (of {sweep['seeds']}) dense alone / BM25 alone | dev hit@1 / MRR@10 "
             "| test hit@1 / MRR@10 |", "|---|--:|--:|--:|--:|"]
    for variant, row in sweep["variants"].items():
        lines.append(f"| {variant} | {row['weights'][0]:.2f} | {row['dense_only']} / {row['bm25_only']} "
                     f"| {row['dev']['hit@1']:.3f} / {row['dev']['mrr@10']:.3f} "
                     f"| {row['test']['hit@1']:.3f} / {row['test']['mrr@10']:.3f} |")
    return "\n".join(lines)


def markdown(cost: dict[str, Any]) -> str:
    lines = ["| fit | ingest (median) | the fit's own time | its share of the ingest | over no fit |",
             "|---|--:|--:|--:|--:|"]
    names = {"none": "none (stub)", "before": "before: every passage re-embedded", "now": "now: bounded"}
    for v in ("none", "before", "now"):
        if v not in cost:
            continue
        row = cost[v]
        fit = f"{row['fit_s']:.2f} s" if "fit_s" in row else "-"
        share = f"{100 * row['fit_share']:.1f}%" if "fit_share" in row else "-"
        over = f"{row['over_none_s']:+.2f} s" if "over_none_s" in row and v != "none" else "-"
        lines.append(f"| {names[v]} | {row['ingest_s']:.2f} s | {fit} | {share} | {over} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "fit.json")
    parser.add_argument("--seeds", type=int, default=0, help="the seed sweep instead of the timing")
    args = parser.parse_args()
    if args.seeds:
        sys.path.insert(0, str(ROOT))
        sweep = seed_sweep(args.corpus, args.seeds)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_name(args.out.stem + "-seeds.json").write_text(json.dumps(sweep, indent=2), "utf-8")
        print(seeds_markdown(sweep))
        return
    cost = ingest_cost(args.corpus, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cost, indent=2), "utf-8")
    for v in ("before", "now"):
        print(f"{v}: {cost[v]['fusion']}")
    print(markdown(cost))


if __name__ == "__main__":
    main()

"""Benchmark the answer step in process: what a repeated question costs once its query vector is cached.

No HTTP and no model call: every question's query embedding (and its follow-up rewrites') is cached by a
first pass, so what is timed is retrieval, the reader's feature pass and quote choice, the Python work that
limits a server answering popular questions. Two figures, each the median of ``--runs`` runs:

- one eval question answered (``Answerer.answer``, follow-ups with their history), averaged over
  ``--passes`` passes of the set;
- the reader's feature pass alone (``Features.rows``) on the set's questions' hits, without history.

    .venv/bin/python benchmarks/bench_answer.py                # the default corpus and eval set
    .venv/bin/python benchmarks/bench_answer.py --runs 5 --passes 50

The machine is shared and noisy: compare two commits by alternating runs, as docs/benchmarks.md's figures were.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "bench-results" / "corpus-index")
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "sets" / "default.jsonl")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--passes", type=int, default=30)
    args = parser.parse_args()

    from bench_service import corpus_index  # this folder is on sys.path when a script here runs

    from footnote.service.answering.answerer import Answerer
    from footnote.service.models import AnswerRequest

    corpus_index(args.index)
    rows = [json.loads(line) for line in args.set.read_text("utf-8").splitlines() if line.strip()]
    requests = [AnswerRequest(question=r["question"], history=r.get("history", [])) for r in rows]
    answerer = Answerer.from_index_dir(args.index)
    for request in requests:  # caches every query vector, and the reader's per-passage arrays
        answerer.answer(request)
    questions = [r.question for r in requests]
    vectors = answerer.index.embed_queries(questions)
    hits = [answerer.retriever.search(q, 5, query_vector=v) for q, v in zip(questions, vectors, strict=True)]

    answer_ms, rows_ms = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        for _ in range(args.passes):
            for request in requests:
                answerer.answer(request)
        answer_ms.append((time.perf_counter() - start) * 1000 / (args.passes * len(requests)))
        start = time.perf_counter()
        for _ in range(args.passes):
            for q, v, h in zip(questions, vectors, hits, strict=True):
                answerer.features.rows(q, v, h)
        rows_ms.append((time.perf_counter() - start) * 1000 / (args.passes * len(questions)))
    result = {"machine": f"{os.cpu_count()} cores", "questions": len(requests), "runs": args.runs,
              "passes": args.passes, "answer_ms": answer_ms, "feature_pass_ms": rows_ms}
    print(f"{len(requests)} questions, {args.runs} runs of {args.passes} passes")
    print(f"answer, repeated question: median {statistics.median(answer_ms):.2f} ms "
          f"(runs: {', '.join(f'{x:.2f}' for x in answer_ms)})")
    print(f"feature pass alone:        median {statistics.median(rows_ms):.2f} ms "
          f"(runs: {', '.join(f'{x:.2f}' for x in rows_ms)})")
    out = ROOT / "bench-results" / "answer.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

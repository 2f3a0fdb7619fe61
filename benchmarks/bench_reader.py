"""The reader's quality on every set it was not fitted on, in one table (docs/reader.md quotes it).

    .venv/bin/python benchmarks/bench_reader.py [--work bench-results/reader] [--sets blind,wiki,...]

Each figure comes from ``footnote eval`` (hybrid, top 5) run on the set's own index, read from its
report.json; the indexes are built once under ``--work`` and reused:

- shipped: eval/sets/default.jsonl, held-out side (the reader's stack saw the tune side);
- blind: eval/sets/blind.jsonl, all of it (never fitted on);
- wiki: eval/sets/wiki-topics.jsonl, held-out documents;
- normans: eval/sets/normans.json (SQuAD 2.0), held-out side;
- reading: the reading corpus's test split (eval/sets/reading), by genre, on the index of all its documents;
- real: eval/sets/real-docs.jsonl on ../shared/real-docs (skipped when that folder is missing), with the share
  of answers that are wrong but not flagged as uncertain ("confident wrong");
- rerank: search hit@1 on the shipped set's held-out answerable questions, without and with ``--rerank``.

The reader measured is the one ``FOOTNOTE_READER`` names (``features``, the default, or ``neural``).
Writes bench-results/reader-quality.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "eval" / "sets"
REAL_DOCS = ROOT.parent / "shared" / "real-docs"
ALL = ("shipped", "blind", "wiki", "normans", "reading", "real", "rerank")


def _footnote(*args: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run([str(Path(sys.executable).parent / "footnote"), *args], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def _index(folder: Path, target: Path) -> Path:
    from footnote.service.answering.train import build_index

    return build_index([folder], target)


def _eval(sets: list[Path], index: Path, report: Path) -> dict[str, Any]:
    _footnote("eval", *map(str, sets), "--index", str(index), "--modes", "hybrid", "--report", str(report))
    return json.loads((report / "report.json").read_text("utf-8"))


def _answers(report: dict[str, Any], side: str | None) -> dict[str, float]:
    a = report["splits"][side] if side else report["answers"]
    keys = ("questions", "answer_found", "abstention_precision", "abstention_recall", "squad2_overall",
            "confidence_auroc", "latency_p50_ms")
    return {k: round(float(a[k]), 4) for k in keys if k in a and a[k] is not None}


def _risk_coverage(report: dict[str, Any]) -> list[tuple[float, float]]:
    """(coverage, precision) when only the most confident quarter, half, three quarters or all of the questions
    are answered: precision is the share of those whose quotes hold the answer (an unanswerable one is wrong)."""
    ranked = sorted(report["questions"], key=lambda q: -q["answer"]["confidence"])
    right = [bool(q["answerable"] and any(n.get("relevant") for n in q["answer"]["footnotes"])) for q in ranked]
    out = []
    for share in (0.25, 0.5, 0.75, 1.0):
        n = max(1, round(share * len(ranked)))
        out.append((round(n / max(1, len(ranked)), 3), round(sum(right[:n]) / n, 3)))
    return out


def _confident_wrong(report: dict[str, Any], confident_from: float) -> float:
    """Answers given without the uncertain flag that are wrong: an answerable question whose quotes hold no
    answer, or an unanswerable one answered."""
    wrong = 0
    for q in report["questions"]:
        a = q["answer"]
        if not a["grounded"] or a["confidence"] < confident_from:
            continue
        found = any(n.get("relevant") for n in a["footnotes"])
        wrong += (q["answerable"] and not found) or not q["answerable"]
    return round(wrong / max(1, len(report["questions"])), 4)


def _relevant(hit: Any, spans: list[tuple[str | None, int, int]]) -> bool:
    """Whether the hit's passage overlaps one of the evidence spans (document, start, end)."""
    p = hit.passage
    return any(p.doc_id == doc and p.start < e and s < p.end for doc, s, e in spans)


def _rerank_hit1(index_dir: Path) -> dict[str, float]:
    from footnote.eval import metrics as m
    from footnote.eval.dataset import DEFAULT_SET, load_sets
    from footnote.eval.split import pick
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer, AnswerSettings
    from footnote.settings import Settings

    index = load(index_dir)
    answerer = Answerer(index, AnswerSettings.from_settings(Settings()))
    retriever = index.retriever("hybrid")
    plain = reranked = total = 0
    for q in pick([q for q in load_sets([DEFAULT_SET]) if q.answerable and not q.history and q.evidence],
                  "heldout"):
        doc = index.documents.get(q.doc or "")
        if doc is None:
            continue
        spans = [(q.doc, s, e) for text in q.evidence for s, e in m.locate(text, doc.text)]
        hits = retriever.search(q.question, 10)
        total += 1
        plain += bool(hits) and _relevant(hits[0], spans)
        again = answerer.rerank(q.question, hits)
        reranked += bool(again) and _relevant(again[0], spans)
    return {"questions": total, "hit@1": round(plain / max(1, total), 4),
            "hit@1 reranked": round(reranked / max(1, total), 4)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / "bench-results" / "reader")
    parser.add_argument("--sets", default=",".join(ALL))
    parser.add_argument("--reports", type=Path, default=None,
                        help="where each set's report goes (default: WORK/reports); one folder per reader lets "
                             "benchmarks/compare_readers.py compare two readers question by question")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sets.split(",") if s.strip()]
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    from footnote.eval import reading
    from footnote.service.answering.model import READERS, load_model
    from footnote.settings import Settings

    reader = Settings().reader
    model = load_model(READERS[reader])
    out: dict[str, Any] = {"reader": reader}
    reports: Path = args.reports or work / "reports"
    corpus_index = _index(ROOT / "corpus", work / "corpus-index")
    if "shipped" in chosen:
        out["shipped held out"] = _answers(_eval([SETS / "default.jsonl"], corpus_index, reports / "shipped"),
                                           "heldout")
    if "blind" in chosen:
        out["blind"] = _answers(_eval([SETS / "blind.jsonl"], corpus_index, reports / "blind"), None)
    if "wiki" in chosen:
        wiki_index = _index(SETS / "wiki-topics", work / "wiki-index")
        out["wiki-topics held out"] = _answers(_eval([SETS / "wiki-topics.jsonl"], wiki_index, reports / "wiki"),
                                               "heldout")
    if "normans" in chosen:
        _footnote("eval", "--squad", str(SETS / "normans.json"), "--modes", "hybrid", "--report",
                  str(reports / "normans"))
        report = json.loads((reports / "normans" / "report.json").read_text("utf-8"))
        out["normans held out"] = _answers(report, "heldout")
    if "reading" in chosen:
        reading_index = _index(reading.ROOT / "docs", work / "reading-index")
        docs = {d["doc_id"]: d for d in reading.documents()}
        with tempfile.TemporaryDirectory() as tmp:
            for genre in sorted({d["genre"] for d in docs.values()}):
                rows = [{k: v for k, v in q.items() if not k.startswith("_")} for q in reading.questions()
                        if docs[q["doc"]]["split"] == "test" and docs[q["doc"]]["genre"] == genre]
                path = Path(tmp) / f"reading-test-{genre}.jsonl"
                path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
                report = _eval([path], reading_index, reports / f"reading-{genre}")
                out[f"reading test {genre}"] = {**_answers(report, None),
                                                "confident_wrong": _confident_wrong(report, model.confident_from),
                                                "risk_coverage": _risk_coverage(report)}
    if "real" in chosen and REAL_DOCS.is_dir() and (SETS / "real-docs.jsonl").is_file():
        real_index = _index(REAL_DOCS, work / "real-index")
        report = _eval([SETS / "real-docs.jsonl"], real_index, reports / "real")
        out["real documents"] = {**_answers(report, None),
                                 "confident_wrong": _confident_wrong(report, model.confident_from)}
    if "rerank" in chosen:
        out["search, shipped held out"] = _rerank_hit1(corpus_index)
    (ROOT / "bench-results").mkdir(exist_ok=True)
    (ROOT / "bench-results" / "reader-quality.json").write_text(json.dumps(out, indent=1) + "\n", "utf-8")
    print("| set | figures |\n| --- | --- |")
    for name, figures in out.items():
        if isinstance(figures, dict):
            print(f"| {name} | " + ", ".join(f"{k} {v}" for k, v in figures.items()) + " |")
    return out


if __name__ == "__main__":
    main()

"""Retrieval on a BEIR-format dataset, through the same ingest and index a user runs.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl`` (``{"_id", "text"}``)
and ``qrels/test.tsv`` (``query-id corpus-id score`` with a header). Each corpus row becomes a text file
(title on the first line) named ``d0000000.txt`` by row number, so its ingested ``doc_id`` is the name's
stem and maps back to the BEIR id; the files are ingested with ``index.build.update_index`` into a
temporary index. A document's score for a query is its best passage's score. Only queries with at least
one relevant document (score > 0) are evaluated, as BEIR does.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footnote.errors import InputError
from footnote.eval import metrics as m
from footnote.index.hits import Mode

if TYPE_CHECKING:
    from footnote.index.hits import Retriever
    from footnote.index.hybrid import FusionParams

BEIR_METRICS = ("ndcg@10", "map", "recall@10", "recall@100", "mrr@10", "hit@10")


@dataclass(frozen=True)
class BeirData:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text), in file order
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or "_id" not in row:
                raise InputError(f"{path}:{number}: a row needs an _id")
            rows.append(row)
    return rows


def load_beir(folder: Path, split: str = "test") -> BeirData:
    """Read a BEIR dataset folder (errors name the file and line)."""
    folder = Path(folder)
    corpus = {str(r["_id"]): (str(r.get("title") or ""), str(r.get("text") or ""))
              for r in _jsonl(folder / "corpus.jsonl")}
    queries = {str(r["_id"]): str(r.get("text") or "") for r in _jsonl(folder / "queries.jsonl")}
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        raise InputError(f"{path} is missing: BEIR judgements live in qrels/{split}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text("utf-8").split("\n"), 1):
        line = line.rstrip("\r")
        cells = line.split("\t")
        if number == 1 and cells[0].strip().lower() in ("query-id", "query_id", "qid"):
            continue
        if not line.strip():
            continue
        if len(cells) != 3:
            # A four-column file (query-id, docid, docid, score or TREC's query-id, 0, docid, score) read as
            # three would take a wrong column as the grade, silently.
            found = len(cells) if len(cells) > 1 else len(line.split())
            raise InputError(f"{path}:{number}: expected query-id, corpus-id and score separated by tabs (BEIR's "
                             f"3 columns), found {found} columns: {line[:80]!r}")
        try:
            grade = int(cells[2].strip())
        except ValueError as exc:
            raise InputError(f"{path}:{number}: the score {cells[2]!r} is not an integer grade") from exc
        qrels.setdefault(cells[0].strip(), {})[cells[1].strip()] = grade
    return BeirData(corpus, queries, qrels)


def write_corpus(data: BeirData, folder: Path) -> dict[str, str]:
    """One ``.txt`` file per corpus row; returns ``{doc_id: BEIR id}``."""
    folder.mkdir(parents=True, exist_ok=True)
    doc_ids: dict[str, str] = {}
    for i, (beir_id, (title, text)) in enumerate(data.corpus.items()):
        name = f"d{i:07d}"
        body = f"{title.strip()}\n\n{text.strip()}\n" if title.strip() else f"{text.strip()}\n"
        (folder / f"{name}.txt").write_text(body, "utf-8")
        doc_ids[name] = beir_id
    return doc_ids


def run_beir(folder: Path, modes: Sequence[str] = tuple(Mode), *, chunk_tokens: int = 160,
             overlap: int = 0, model_path: str | Path | None = None, depth: int = 100, split: str = "test",
             echo: Callable[[str], Any] | None = None, fusion: FusionParams | None = None) -> dict[str, Any]:
    """nDCG@10, MAP, recall@10/100 (and MRR@10, hit@10) per mode on one BEIR dataset (``fusion`` pins
    the hybrid's; None uses the one fitted at ingest)."""
    from footnote.index.build import update_index
    from footnote.index.load import load

    say = echo or (lambda line: None)
    data = load_beir(folder, split)
    qrels = {q: g for q, g in data.qrels.items() if q in data.queries and any(v > 0 for v in g.values())}
    if not qrels:
        raise InputError(f"{folder}: no query in qrels/{split}.tsv has a relevant document and a text")
    with tempfile.TemporaryDirectory(prefix="footnote-beir-") as tmp:
        docs_dir, index_dir = Path(tmp) / "docs", Path(tmp) / "index"
        doc_ids = write_corpus(data, docs_dir)
        say(f"ingesting {len(doc_ids)} BEIR documents ...")
        # Retrieval only: no sentence vectors (they serve the answer step; about 40% of the embedding time).
        built = update_index([docs_dir], index_dir, chunk_tokens=chunk_tokens, overlap=overlap,
                             model_path=model_path, echo=lambda line: None, sentences=False)
        index = load(index_dir, model_path=model_path, fusion=fusion)
        k = min(len(index.passages), max(depth * 10, 1000))
        results, per_query, runs = score_retrievers({str(mode): index.retriever(mode) for mode in modes},
                                                    data, qrels, doc_ids, k, depth)
        passages = len(index.passages)
        fusion_used = index.fusion_status()
    return {
        "dataset": str(folder),
        "split": split,
        "config": {"chunk_tokens": chunk_tokens, "overlap": overlap, "depth": depth, "passages_searched": k},
        "documents": len(data.corpus),
        "indexed_documents": built.documents,
        "skipped": [list(s) for s in built.skipped],
        "passages": passages,
        "queries": len(qrels),
        "fusion": fusion_used,
        "metrics": results,
        "per_query": per_query,
        "runs": runs,
    }


def score_retrievers(retrievers: dict[str, Retriever], data: BeirData, qrels: dict[str, dict[str, int]],
                     doc_ids: dict[str, str], k: int, depth: int = 100) -> tuple[dict[str, Any], ...]:
    """(metrics, per-query metrics, runs) per named retriever: each query's ``k`` best passages, a document
    scored by its best passage, the top ``depth`` documents judged."""
    runs: dict[str, dict[str, dict[str, float]]] = {}
    results: dict[str, Any] = {}
    per_query: dict[str, Any] = {}
    for name, retriever in retrievers.items():
        runs[name], latency = {}, []
        for qid in qrels:
            started = time.perf_counter()
            hits = retriever.search(data.queries[qid], k)
            latency.append((time.perf_counter() - started) * 1000)
            best: dict[str, float] = {}
            for hit in hits:
                beir_id = doc_ids.get(hit.passage.doc_id)
                if beir_id is not None and (beir_id not in best or hit.score > best[beir_id]):
                    best[beir_id] = float(hit.score)
            runs[name][qid] = dict(sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:depth])
        mean, per_query[name] = m.evaluate(runs[name], qrels)
        results[name] = {metric: mean[metric] for metric in BEIR_METRICS}
        results[name]["latency_p50_ms"] = m.percentile(latency, 50)
    return results, per_query, runs


def format_beir(result: dict[str, Any]) -> str:
    modes = list(result["metrics"])
    lines = [f"BEIR {result['dataset']} ({result['split']}): {result['queries']} queries, "
             f"{result['documents']} documents, {result['passages']} passages"]
    lines.append("metric".ljust(16) + "".join(mode.rjust(10) for mode in modes))
    for name in [*BEIR_METRICS, "latency_p50_ms"]:
        digits = 1 if name.startswith("latency") else 3
        lines.append(name.ljust(16) + "".join(f"{result['metrics'][mode][name]:.{digits}f}".rjust(10)
                                              for mode in modes))
    fusion = result.get("fusion")
    if fusion:
        from footnote.index.fit import summary
        from footnote.index.hybrid import FusionFit, FusionParams

        line = f"hybrid: {FusionParams.from_dict(fusion).describe()} ({fusion['source']})"
        if fusion.get("fit") and fusion["source"] != "pinned":
            line = "hybrid " + summary(FusionFit.from_dict(fusion["fit"]))
        lines.append(line)
    return "\n".join(lines)

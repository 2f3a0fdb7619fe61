"""Index benchmark: embedding throughput, build time, query latency per mode, memory, HNSW recall.

    .venv/bin/python benchmarks/bench_index.py            # full run (~10 min on 2 cores)
    .venv/bin/python benchmarks/bench_index.py --quick    # 10k passages and 100k vectors only (~1 min)

Writes ``bench-results/index-<timestamp>.json`` and prints a Markdown table for docs/benchmarks.md (Index).

What is real and what is synthetic (said in docs/benchmarks.md too):

- Embedding throughput and the end-to-end ``update_index`` on ``corpus/`` use the real model.
- The 10k/100k corpora are made from the real corpus: each synthetic passage is 3-6 real sentences in a
  random order plus a few words from a synthetic Zipf vocabulary (so the BM25 vocabulary grows as a real
  corpus's does). Embedding 100k passages on 2 cores would take hours, so their vectors are perturbed
  copies of real vectors: the normalized mean of the real embeddings of their sentences plus Gaussian
  noise. Queries are real questions embedded by the real model.
- The 1M set is synthetic 384-d unit vectors made the same way (means of 2-4 real sentence vectors plus
  noise); recall@10 is measured against an exact scan of the same vectors.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from footnote.eval.metrics import percentile  # noqa: E402
from footnote.index.dense import HNSW_EF_CONSTRUCTION, HNSW_M  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

QUESTIONS = [
    "Which company produces cutting-edge NAND memory?",
    "Rapidus partnership with IBM",
    "which Rapidus press release is cited?",
    "what does the report cite for the DX claim?",
    "How does Japan rank overall in critical technologies?",
    "What are the weaknesses of Japan in artificial intelligence?",
    "Why is digital transformation slow in Japanese businesses?",
    "What is Society 5.0?",
    "Which agency leads digital governance in Japan?",
    "How does Japan support semiconductor manufacturing?",
    "What does the report recommend for quantum technologies?",
    "Japan space technology ranking",
    "biotechnology regulatory strengths",
    "AI safety institute Japan",
    "talent shortage and human capital in emerging technologies",
    "export controls and economic security policy",
    "What role does METI play in technology policy?",
    "international collaboration on research",
    "data centers and computing resources subsidies",
    "intellectual property protection in Japan",
]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def latency(fn, inputs: list[Any], repeat: int) -> dict[str, float]:
    for x in inputs[:3]:
        fn(x)  # warm-up
    samples: list[float] = []
    for _ in range(repeat):
        for x in inputs:
            t = time.perf_counter()
            fn(x)
            samples.append((time.perf_counter() - t) * 1e3)
    return {"p50_ms": round(percentile(samples, 50), 3), "p95_ms": round(percentile(samples, 95), 3),
            "n": len(samples)}


def real_corpus(embedder: Any) -> dict[str, Any]:
    """The seed corpus, chunked and embedded for real: the material for the synthetic corpora."""
    from footnote.index.text import dense_text
    from footnote.ingest import chunk, discover, parse

    files, _ = discover([ROOT / "corpus"])
    docs = [parse(f, ROOT / "corpus") for f in files]
    passages = [p for d in docs for p in chunk(d, 160, 0)]
    by_id = {d.doc_id: d for d in docs}
    sentences = [by_id[p.doc_id].text[s:e] for p in passages for s, e in p.sentences]
    texts = [dense_text(p) for p in passages]
    embedder.embed(texts[:8])  # warm-up
    p_vecs, p_sec = timed(embedder.embed, texts * 2)
    s_vecs, s_sec = timed(embedder.embed, sentences)
    return {
        "documents": docs, "passages": passages, "sentences": sentences,
        "sentence_vectors": s_vecs, "passage_vectors": p_vecs[: len(texts)],
        "throughput": {
            "passages_per_s": round(2 * len(texts) / p_sec, 1),
            "sentences_per_s": round(len(sentences) / s_sec, 1),
            "passages_sampled": 2 * len(texts), "sentences_sampled": len(sentences),
            "mean_passage_tokens": round(statistics.mean(p.tokens for p in passages), 1),
        },
    }


def end_to_end(tmp: Path) -> dict[str, Any]:
    """``update_index`` on corpus/: cold build (model already loaded), then an unchanged rerun."""
    from footnote.index.build import update_index

    out = tmp / "e2e" / "index"
    report, first = timed(update_index, [ROOT / "corpus"], out, chunk_tokens=160, overlap=0, echo=lambda s: None)
    _, again = timed(update_index, [ROOT / "corpus"], out, chunk_tokens=160, overlap=0, echo=lambda s: None)
    return {"passages": report.passages, "build_s": round(first, 2), "unchanged_rerun_s": round(again, 3)}


def one_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a FAISS call on one OpenMP thread, as ``DenseRetriever`` does for single queries."""
    import faiss

    def run(*args: Any) -> Any:
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return fn(*args)
        finally:
            faiss.omp_set_num_threads(threads)

    return run


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthetic_corpus(real: dict[str, Any], n: int, rng: np.random.Generator) -> dict[str, Any]:
    """``n`` passages recombined from real sentences, with perturbed real vectors (see module doc)."""
    from footnote.ingest.models import Citation, Document, Passage

    sents: list[str] = real["sentences"]
    svecs: np.ndarray = real["sentence_vectors"]
    dim = svecs.shape[1]
    vocab = [f"term{i}" for i in range(50_000)]
    zipf = np.minimum(rng.zipf(1.3, size=n * 4), len(vocab)) - 1
    cites = [c for p in real["passages"] for c in p.citations] or [Citation("1", "A source.")]
    per_doc = 40
    documents: list[Document] = []
    passages: list[Passage] = []
    p_vecs = np.empty((n, dim), dtype=np.float32)
    s_rows: list[np.ndarray] = []
    offsets = np.zeros(n + 1, dtype=np.int64)
    text_parts: list[str] = []
    pos = 0
    doc_n = 0
    for i in range(n):
        k = int(rng.integers(3, 7))
        picks = rng.choice(len(sents), size=k, replace=False)
        extra = " ".join(vocab[z] for z in zipf[4 * i: 4 * i + 4])
        chosen = [sents[j] for j in picks]
        chosen[-1] = f"{chosen[-1]} {extra}"
        spans = []
        start = pos
        for s in chosen:
            spans.append((pos, pos + len(s)))
            text_parts.append(s + " ")
            pos += len(s) + 1
        text = " ".join(chosen)
        doc_id = f"synthetic-{doc_n:05d}"
        citations = (cites[i % len(cites)],) if i % 3 == 0 else ()
        passages.append(Passage(id=f"{doc_id}-{i % per_doc:04d}", doc_id=doc_id, title=f"Synthetic {doc_n}",
                                section=("Part",), text=text, start=start, end=start + len(text),
                                tokens=len(text) // 4, citations=citations, sentences=tuple(spans)))
        noise = rng.standard_normal((k, dim)).astype(np.float32)
        s_vec = unit(svecs[picks] + 0.03 * noise)
        s_rows.append(s_vec)
        offsets[i + 1] = offsets[i] + k
        p_vecs[i] = unit(s_vec.mean(axis=0) + 0.02 * rng.standard_normal(dim).astype(np.float32))
        if (i + 1) % per_doc == 0 or i == n - 1:
            documents.append(Document(doc_id=doc_id, title=f"Synthetic {doc_n}", path=f"{doc_id}.txt",
                                      sha256=f"{doc_n:064x}", text="".join(text_parts)))
            text_parts, pos, doc_n = [], 0, doc_n + 1
    return {"documents": documents, "passages": passages, "passage_vectors": p_vecs,
            "sentence_vectors": np.concatenate(s_rows), "sentence_offsets": offsets}


def recall_at_10(approx: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e.tolist())) / 10 for a, e in zip(approx, exact, strict=True)]))


def bench_size(real: dict[str, Any], n: int, embedder: Any, tmp: Path, rng: np.random.Generator,
               repeat: int) -> dict[str, Any]:
    import faiss

    from footnote.index.dense import build_faiss
    from footnote.index.lexical import build_bm25
    from footnote.index.load import load
    from footnote.index.manifest import Manifest
    from footnote.index.text import lexical_text
    from footnote.index.vectors import FaissStore
    from footnote.index.writer import write_version

    syn = synthetic_corpus(real, n, rng)
    folder = tmp / f"n{n}"
    folder.mkdir()
    _, faiss_s = timed(build_faiss, syn["passage_vectors"], "auto")
    _, bm25_s = timed(build_bm25, [lexical_text(p) for p in syn["passages"]])
    manifest = Manifest(version="v000001", created="", model=embedder.describe(), chunking={}, bm25={},
                        counts={"documents": len(syn["documents"]), "passages": n,
                                "sentences": int(syn["sentence_offsets"][-1])}, documents=[])
    _, write_s = timed(write_version, folder, manifest, syn["documents"], syn["passages"],
                       syn["passage_vectors"], syn["sentence_vectors"], syn["sentence_offsets"], FaissStore(),
                       tmp / "index", "auto", print)
    vectors = syn["passage_vectors"]
    del syn
    gc.collect()
    before = rss_mb()
    idx, load_s = timed(load, folder, embedder)
    rss_index = rss_mb() - before
    qvecs = [embedder.embed_query(q) for q in QUESTIONS]
    pairs = list(zip(QUESTIONS, qvecs, strict=True))
    dense, bm25, hybrid = idx.retriever("dense"), idx.retriever("bm25"), idx.retriever("hybrid")

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, exact = flat.search(np.stack(qvecs), 10)
    approx = [[idx.row(h.passage.id) for h in dense.search_vector(v, 10)] for v in qvecs]
    exact_latency = latency(one_thread(lambda v: flat.search(v.reshape(1, -1), 10)), qvecs, repeat)

    def uncached(q: str) -> np.ndarray:
        return embedder.embed_query(q)

    result = {
        "passages": n,
        "dense_kind": idx.manifest.dense["kind"], "dense_params": idx.manifest.dense,
        "build_s": {"faiss": round(faiss_s, 2), "bm25": round(bm25_s, 2),
                    "write_version_total": round(write_s, 2)},
        "load_s": round(load_s, 2), "index_rss_mb": round(rss_index, 1),
        "disk_mb": round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1),
        "dense_recall_at_10_vs_exact": round(recall_at_10(approx, exact), 4),
        "exact_flat_search": exact_latency,
        "query_excluding_embedding": {
            "dense": latency(lambda qv: dense.search_vector(qv[1], 10), pairs, repeat),
            "bm25": latency(lambda qv: bm25.search(qv[0], 10), pairs, repeat),
            "hybrid": latency(lambda qv: hybrid.search(qv[0], 10, query_vector=qv[1]), pairs, repeat),
        },
        "query_including_embedding": {
            "dense": latency(lambda qv: dense.search_vector(uncached(qv[0]), 10), pairs, 1),
            "bm25": latency(lambda qv: bm25.search(qv[0], 10), pairs, 1),
            "hybrid": latency(lambda qv: hybrid.search(qv[0], 10, query_vector=uncached(qv[0])), pairs, 1),
        },
        "sentence_vectors_lookup": latency(lambda qv: idx.sentence_vectors(idx.passages[7].id)[1] @ qv[1],
                                           pairs, repeat),
    }
    shutil.rmtree(folder, ignore_errors=True)
    return result


def bench_million(real: dict[str, Any], n: int, embedder: Any, rng: np.random.Generator, m: int,
                  ef_construction: int, efs: list[int]) -> dict[str, Any]:
    """Dense only: HNSW over ``n`` synthetic vectors, recall@10 and latency per efSearch."""
    import faiss

    base = real["sentence_vectors"]
    dim = base.shape[1]
    x = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        k = rng.integers(2, 5, size=hi - lo)
        picks = rng.integers(0, len(base), size=(hi - lo, 4))
        weights = (np.arange(4)[None, :] < k[:, None]) * rng.uniform(0.5, 1.0, size=(hi - lo, 4))
        mix = np.einsum("nk,nkd->nd", weights.astype(np.float32), base[picks])
        x[lo:hi] = unit(mix + 0.06 * rng.standard_normal((hi - lo, dim)).astype(np.float32))
    queries = np.stack([embedder.embed_query(q) for q in QUESTIONS]
                       + list(unit(x[rng.integers(0, n, 180)] + 0.05 * rng.standard_normal((180, dim))
                                   .astype(np.float32))))
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    (_, exact), exact_s = timed(flat.search, queries, 10)
    exact_lat = latency(one_thread(lambda q: flat.search(q.reshape(1, -1), 10)), list(queries[:20]), 1)
    flat.reset()  # frees its vectors; the lambda above is done with it
    gc.collect()
    before = rss_mb()
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    _, build_s = timed(index.add, x)
    rss = rss_mb() - before
    rows = []
    for ef in efs:
        params = faiss.SearchParametersHNSW(efSearch=ef)
        found = [index.search(q.reshape(1, -1), 10, params=params)[1][0].tolist() for q in queries]
        lat = latency(one_thread(lambda q, p=params: index.search(q.reshape(1, -1), 10, params=p)),
                      list(queries), 2)
        rows.append({"ef_search": ef, "recall_at_10": round(recall_at_10(found, exact), 4), **lat})
    return {"vectors": n, "dim": dim, "M": m, "ef_construction": ef_construction,
            "build_s": round(build_s, 1), "hnsw_rss_mb": round(rss, 1),
            "exact_batch_s": round(exact_s, 2), "exact_single_query": exact_lat,
            "queries": len(queries), "by_ef_search": rows}


def table(results: dict[str, Any]) -> str:
    lines = ["| passages | dense | build (FAISS + BM25 + files) | load | RSS | dense | bm25 | hybrid "
             "| hybrid incl. query embedding | dense recall@10 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["sizes"]:
        q, qi = r["query_excluding_embedding"], r["query_including_embedding"]
        lines.append(
            f"| {r['passages']:,} | {r['dense_kind']} | {r['build_s']['write_version_total']} s | {r['load_s']} s "
            f"| {r['index_rss_mb']:.0f} MB | {q['dense']['p50_ms']:.2f} / {q['dense']['p95_ms']:.2f} "
            f"| {q['bm25']['p50_ms']:.2f} / {q['bm25']['p95_ms']:.2f} "
            f"| {q['hybrid']['p50_ms']:.2f} / {q['hybrid']['p95_ms']:.2f} "
            f"| {qi['hybrid']['p50_ms']:.1f} / {qi['hybrid']['p95_ms']:.1f} "
            f"| {r['dense_recall_at_10_vs_exact']:.3f} |")
    mil = results.get("million")
    if mil:
        lines += ["", f"HNSW M={mil['M']}, efConstruction={mil['ef_construction']} over {mil['vectors']:,} "
                      f"vectors: built in {mil['build_s']} s, +{mil['hnsw_rss_mb']:.0f} MB; exact scan p50 "
                      f"{mil['exact_single_query']['p50_ms']:.1f} ms.", "",
                  "| efSearch | recall@10 vs exact | p50 ms | p95 ms |", "|---|---|---|---|"]
        lines += [f"| {r['ef_search']} | {r['recall_at_10']:.3f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} |"
                  for r in mil["by_ef_search"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k passages and 100k dense vectors only")
    parser.add_argument("--sizes", default=None, help="comma-separated passage counts (default 10000,100000)")
    parser.add_argument("--million", type=int, default=None, help="dense-only vector count (default 1000000)")
    parser.add_argument("--M", type=int, default=HNSW_M)
    parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION)
    parser.add_argument("--ef-search", default="64,128,256,384,512")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the query set per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick else "10000,100000")).split(",") if s]
    million = args.million if args.million is not None else (100_000 if args.quick else 1_000_000)

    from footnote.index.embed import get_embedder

    rng = np.random.default_rng(20250521)
    started = time.perf_counter()
    embedder, model_s = timed(get_embedder)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_avg_at_start": os.getloadavg()},
        "model_load_s": round(model_s, 2),
    }
    print(f"model loaded in {model_s:.1f} s", file=sys.stderr)
    real = real_corpus(embedder)
    results["embedding"] = real["throughput"]
    print(f"embedding: {real['throughput']}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp_name:
        tmp = Path(tmp_name)
        results["end_to_end_corpus"] = end_to_end(tmp)
        print(f"end to end: {results['end_to_end_corpus']}", file=sys.stderr)
        results["sizes"] = []
        for n in sizes:
            r = bench_size(real, n, embedder, tmp, rng, args.repeat)
            results["sizes"].append(r)
            print(f"{n}: {json.dumps(r)}", file=sys.stderr)
    if million:
        efs = [int(e) for e in args.ef_search.split(",")]
        results["million"] = bench_million(real, million, embedder, rng, args.M, args.ef_construction, efs)
        print(f"million: {json.dumps(results['million'])}", file=sys.stderr)
    results["total_s"] = round(time.perf_counter() - started, 1)
    results["load_avg_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"index-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nwrote {path} in {results['total_s']} s", file=sys.stderr)


if __name__ == "__main__":
    main()

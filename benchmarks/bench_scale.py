"""Scale benchmark: ingest throughput and dense query latency against corpus size, FAISS vs Milvus Lite.

For each size (default 10k, 100k, 1M passages) and each store, the real code paths run on synthetic
vectors: ``index.dense.build_faiss`` (flat below 50k vectors, HNSW above, as ``footnote ingest`` chooses)
and ``index.milvus.MilvusStore`` (keys, insert, flush, segment indexes) for ingest; ``DenseRetriever``
over each for queries, asking for the top 50 as hybrid search does. Recall@10 against an exact scan
shows the latency is not bought with wrong answers.

Embedding 1M passages on 2 cores takes hours, so the vectors are synthetic: unit vectors drawn around
4,096 random centres (real embeddings cluster too; uniform random vectors are a needlessly hard case for
HNSW). Embedding throughput is measured separately on real corpus text and reported, since it, not the
vector store, bounds ingest.

    .venv/bin/python benchmarks/bench_scale.py                       # 10k, 100k, 1M (~15 min here)
    .venv/bin/python benchmarks/bench_scale.py --sizes 10k,100k      # a subset
    .venv/bin/python benchmarks/bench_scale.py --stores faiss --queries 500
    .venv/bin/python benchmarks/bench_scale.py --plot docs/scale.svg              # also redraw the figure
    .venv/bin/python benchmarks/bench_scale.py --plot-only --plot docs/scale.svg  # from bench-results/scale.json

Milvus Lite above 100k runs with a FLAT index (its per-segment HNSW builds would take ~30 min at 1M here;
its per-query cost is linear in the corpus either way, see docs/scaling.md).

Results are printed and written to bench-results/scale.json. The figure is drawn only when ``--plot PATH``
names where (docs/scale.svg is the one docs/scaling.md shows), so a run leaves the committed figure alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from footnote.eval.metrics import percentile  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DIM = 384
DEPTH = 50  # what HybridRetriever asks the dense side for
BUDGET_MS = 50.0


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k" if n % 1_000 == 0 else str(n)


def synthetic(n: int, seed: int = 0, centres: int = 4096, spread: float = 0.35) -> np.ndarray:
    """``n`` clustered unit vectors, generated in chunks to bound peak memory."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, DIM)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    out = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        x = c[rng.integers(0, centres, hi - lo)]
        x += spread * rng.standard_normal((hi - lo, DIM)).astype(np.float32) / np.sqrt(DIM)
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def make_queries(vectors: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    """Perturbed corpus vectors: each query has true near neighbours, like a real question."""
    rng = np.random.default_rng(seed)
    q = vectors[rng.integers(0, len(vectors), count)].copy()
    q += 0.25 * rng.standard_normal(q.shape).astype(np.float32) / np.sqrt(DIM)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    out = []
    for lo in range(0, len(queries), 64):
        scores = queries[lo:lo + 64] @ vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        out.extend(set(row.tolist()) for row in top)
    return out


def time_queries(retriever: Any, queries: np.ndarray, truth: list[set[int]], warmup: int = 10,
                 budget_s: float = 60.0) -> dict[str, Any]:
    """Latency of ``search_rows(q, 50)``; stops after ``budget_s`` (at least 30 queries) on slow stores."""
    for q in queries[:warmup]:
        retriever.search_rows(q, DEPTH)
    times: list[float] = []
    recall: list[float] = []
    deadline = time.perf_counter() + budget_s
    for q, want in zip(queries, truth, strict=True):
        if len(times) >= 30 and time.perf_counter() > deadline:
            break
        t = time.perf_counter()
        rows, _ = retriever.search_rows(q, DEPTH)
        times.append((time.perf_counter() - t) * 1000)
        recall.append(len(set(rows[:10]) & want) / 10)
    return {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "max_ms": max(times),
            "recall_at_10": statistics.fmean(recall), "queries": len(times)}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_faiss(vectors: np.ndarray, queries: np.ndarray, truth: list[set[int]], work: Path) -> dict[str, Any]:
    import faiss

    from footnote.index.dense import DenseRetriever, build_faiss
    from footnote.index.vectors import FaissVectors

    t = time.perf_counter()
    index, params = build_faiss(vectors, "auto")
    build_s = time.perf_counter() - t
    faiss.write_index(index, str(work / "dense.faiss"))
    retriever = DenseRetriever(FaissVectors(index, params.get("ef_search", 0)), [], lambda text: np.zeros(DIM))
    result = {"store": "faiss", "kind": params["kind"], "ingest_s": build_s,
              "ingest_per_s": len(vectors) / build_s, "bytes_per_vector": (work / "dense.faiss").stat().st_size
              / len(vectors), **time_queries(retriever, queries, truth)}
    # One query at a time gains nothing from OpenMP threads, and on a busy machine their spin-waits cost
    # milliseconds: the same queries with one thread show what serving could get.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        one = time_queries(retriever, queries, truth)
    finally:
        faiss.omp_set_num_threads(threads)
    result.update(p50_ms_1thread=one["p50_ms"], p95_ms_1thread=one["p95_ms"], omp_threads=threads)
    del index, retriever
    return result


def synthetic_passages(n: int) -> list[Any]:
    from footnote.ingest.models import Passage

    return [Passage(id=f"s{i:07d}", doc_id="synthetic", title="", section=(), text=f"p{i}", start=0,
                    end=1, tokens=1) for i in range(n)]


def bench_milvus(vectors: np.ndarray, queries: np.ndarray, truth: list[set[int]], work: Path,
                 index_type: str | None = None) -> dict[str, Any]:
    from footnote.index.dense import DenseRetriever
    from footnote.index.manifest import Manifest
    from footnote.index.milvus import MilvusStore
    from footnote.index.milvus.connect import release

    uri = str(work / "milvus.db")
    passages = synthetic_passages(len(vectors))
    folder = work / "version"
    folder.mkdir()
    manifest = Manifest(version="v000001", created="", model={"dim": DIM, "sha256": "0" * 64}, chunking={},
                        bm25={}, counts={"passages": len(passages)}, documents=[])
    t = time.perf_counter()
    store = MilvusStore(uri, lexical="local", index_type=index_type)
    written = manifest.replace(dense=store.write(work / "index", folder, passages, vectors, manifest, "auto"))
    # Milvus Lite builds segment indexes on a background thread; closing the file waits for them, as
    # the end of `footnote ingest` does. Ingest time includes it.
    release(uri)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    vecs = store.open(folder, written)  # what `footnote serve` does: open, load
    retriever = DenseRetriever(vecs, passages, lambda text: np.zeros(DIM))
    retriever.search_rows(queries[0], DEPTH)
    first_s = time.perf_counter() - t
    result = {"store": "milvus-lite", "kind": written.dense["index_type"].lower(), "ingest_s": ingest_s,
              "ingest_per_s": len(vectors) / ingest_s, "first_query_s": first_s,
              "bytes_per_vector": folder_bytes(Path(uri)) / len(vectors), **time_queries(retriever, queries, truth)}
    release(uri)
    return result


def bench_bm25(n: int, count: int, seed: int = 2) -> dict[str, Any]:
    """BM25 as both stores serve it here (local bm25s): a Zipf corpus of 60-token passages, 3-term queries."""
    import bm25s

    from footnote.index.lexical import BM25_PARAMS, BM25Retriever

    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(50_000)]
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.07
    p /= p.sum()
    t = time.perf_counter()
    model = bm25s.BM25(**BM25_PARAMS)
    corpus: list[list[str]] = []
    for lo in range(0, n, 100_000):
        ids = rng.choice(len(vocab), size=(min(n, lo + 100_000) - lo, 60), p=p)
        corpus.extend([vocab[j] for j in row] for row in ids)
    model.index(corpus, show_progress=False)
    build_s = time.perf_counter() - t
    del corpus
    retriever = BM25Retriever(model, [])
    content = p[100:] / p[100:].sum()  # queries carry content words, not the commonest (stop-word-like) ones
    queries = [" ".join(vocab[100 + j] for j in rng.choice(len(content), 3, p=content)) for _ in range(count)]
    times = []
    for q in queries[:10]:
        retriever.search_rows(q, DEPTH)
    for q in queries:
        t = time.perf_counter()
        retriever.search_rows(q, DEPTH)
        times.append((time.perf_counter() - t) * 1000)
    return {"bm25_build_s": build_s, "bm25_p50_ms": percentile(times, 50), "bm25_p95_ms": percentile(times, 95)}


def embedding_throughput(sample: int) -> dict[str, Any]:
    """Real corpus passages (as the model sees them) through the real model in this process."""
    from footnote.index.embed import get_embedder
    from footnote.index.text import dense_text
    from footnote.ingest import chunk, parse
    from footnote.settings import Settings

    settings = Settings()
    base = [dense_text(p) for f in sorted((ROOT / "corpus").iterdir())
            for p in chunk(parse(f, ROOT / "corpus"), settings.chunk_tokens, settings.chunk_overlap)]
    texts: list[str] = []
    while len(texts) < sample:  # numbered copies: nothing is cached between texts
        texts.extend(f"{t} ({len(texts) + i})" for i, t in enumerate(base))
    texts = texts[:sample]
    embedder = get_embedder()
    embedder.embed(texts[:32], progress=False)
    t = time.perf_counter()
    embedder.embed(texts, progress=False)
    seconds = time.perf_counter() - t
    questions = [f"What does the report say about {t.split()[3]} and {t.split()[7]}?" for t in texts[:60]]
    query_ms = []
    for q in questions:
        t = time.perf_counter()
        embedder.embed_query(q)
        query_ms.append((time.perf_counter() - t) * 1000)
    return {"texts": len(texts), "seconds": seconds, "per_s": len(texts) / seconds,
            "mean_chars": statistics.fmean(len(x) for x in texts),
            "query_p50_ms": percentile(query_ms[10:], 50), "query_p95_ms": percentile(query_ms[10:], 95)}


def plot(results: list[dict[str, Any]], embed: dict[str, Any] | None, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: a small, diffable SVG
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for store, marker, color in (("faiss", "o", "tab:blue"), ("milvus-lite", "s", "tab:orange")):
        rows = sorted((r for r in results if r["store"] == store), key=lambda r: r["n"])
        if not rows:
            continue
        ns = [r["n"] for r in rows]
        left.plot(ns, [r["ingest_per_s"] for r in rows], marker + "-", color=color, label=f"{store} index build")
        right.plot(ns, [r["p50_ms"] for r in rows], marker + "-", color=color, label=f"{store} p50")
        right.plot(ns, [r["p95_ms"] for r in rows], marker + "--", color=color, alpha=0.45, label=f"{store} p95")
        for r in rows:
            right.annotate(r["kind"], (r["n"], r["p95_ms"]), textcoords="offset points", xytext=(4, 4),
                           fontsize=7, color=color)
    if embed:
        left.axhline(embed["per_s"], color="grey", linestyle=":", label="embedding (real model, 2 cores)")
    right.axhline(BUDGET_MS, color="red", linestyle=":", label=f"{BUDGET_MS:.0f} ms budget")
    for ax, title, unit in ((left, "Ingest throughput", "vectors / s"), (right, "Dense query latency (top 50)", "ms")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Footnote on 2 cores / 24 GiB: FAISS vs Milvus Lite (synthetic 384-d vectors)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    print(f"plot: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k,1M", help="comma-separated corpus sizes (10k, 100k, 1M, ...)")
    ap.add_argument("--stores", default="faiss,milvus", help="faiss, milvus or both")
    ap.add_argument("--queries", type=int, default=200, help="timed queries per size and store")
    ap.add_argument("--milvus-max", default="100k",
                    help="largest size Milvus Lite gets the index ingest picks (its HNSW builds take ~30 min at 1M)")
    ap.add_argument("--milvus-large-index", default="FLAT",
                    help="Milvus Lite index above --milvus-max (FLAT: no build; 'skip' to leave those sizes out)")
    ap.add_argument("--milvus-index", default=None,
                    help="Milvus index type instead of what ingest picks (FLAT, HNSW, IVF_FLAT, ...)")
    ap.add_argument("--embed-sample", type=int, default=512, help="texts to embed for throughput (0: skip)")
    ap.add_argument("--no-bm25", action="store_true", help="skip the BM25 latency measurement")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "scale.json")
    ap.add_argument("--plot", type=Path, default=None, help="also draw the results to this file (.svg, .png)")
    ap.add_argument("--plot-only", action="store_true", help="redraw --plot from --out, measure nothing")
    args = ap.parse_args()
    if args.plot_only and args.plot is None:
        ap.error("--plot-only needs --plot PATH")
    if args.plot_only:
        saved = json.loads(args.out.read_text())
        plot(saved["results"], saved["embedding"], args.plot)
        return
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    milvus_max = parse_size(args.milvus_max)
    started = time.perf_counter()

    embed = embedding_throughput(args.embed_sample) if args.embed_sample else None
    if embed:
        print(f"embedding: {embed['texts']} real passages in {embed['seconds']:.1f} s = {embed['per_s']:.0f}/s "
              f"(mean {embed['mean_chars']:.0f} chars); one question: p50 {embed['query_p50_ms']:.1f} ms, "
              f"p95 {embed['query_p95_ms']:.1f} ms", flush=True)
    results: list[dict[str, Any]] = []
    for n in sizes:
        t = time.perf_counter()
        vectors = synthetic(n)
        queries = make_queries(vectors, args.queries)
        truth = exact_top(vectors, queries, 10)
        print(f"\n{label(n)}: {n} vectors generated in {time.perf_counter() - t:.1f} s", flush=True)
        for store in stores:
            index_type = args.milvus_index
            if store == "milvus" and n > milvus_max:
                if args.milvus_large_index.lower() == "skip":
                    print(f"  milvus-lite  skipped above --milvus-max {label(milvus_max)}")
                    continue
                index_type = args.milvus_large_index
            work = Path(tempfile.mkdtemp(prefix=f"bench-{store}-"))
            try:
                if store == "faiss":
                    row = {"n": n, **bench_faiss(vectors, queries, truth, work)}
                else:
                    row = {"n": n, **bench_milvus(vectors, queries, truth, work, index_type)}
            finally:
                shutil.rmtree(work, ignore_errors=True)
                gc.collect()
            row["max_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
            results.append(row)
            print(f"  {row['store']:<12} {row['kind']:<5} ingest {row['ingest_s']:7.1f} s "
                  f"({row['ingest_per_s']:8.0f}/s)  p50 {row['p50_ms']:6.2f} ms  p95 {row['p95_ms']:6.2f} ms  "
                  f"recall@10 {row['recall_at_10']:.3f}  {row['bytes_per_vector']:.0f} B/vector on disk"
                  + (f"  first query {row['first_query_s']:.1f} s" if "first_query_s" in row else "")
                  + (f"  1 thread: p50 {row['p50_ms_1thread']:.2f} p95 {row['p95_ms_1thread']:.2f} ms"
                     if "p50_ms_1thread" in row else ""), flush=True)
        del vectors, queries, truth
        gc.collect()
        if not args.no_bm25:
            lexical = bench_bm25(n, args.queries)
            print(f"  bm25 (local, both stores) build {lexical['bm25_build_s']:.1f} s  "
                  f"p50 {lexical['bm25_p50_ms']:.2f} ms  p95 {lexical['bm25_p95_ms']:.2f} ms", flush=True)
            for row in results:
                if row["n"] == n:
                    row.update(lexical)
                    if embed:  # one hybrid request, retrieval part: embed the question, dense, BM25 (p95s added)
                        dense = min(row["p95_ms"], row.get("p95_ms_1thread", row["p95_ms"]))
                        row["request_p95_ms_est"] = embed["query_p95_ms"] + dense + lexical["bm25_p95_ms"]
            gc.collect()

    print()
    for row in results:
        if "request_p95_ms_est" in row:
            print(f"{row['store']:<12} {label(row['n']):>5}: question embedding + dense + BM25, p95s added: "
                  f"{row['request_p95_ms_est']:.1f} ms")
    for store in sorted({r["store"] for r in results}):
        ok = [r["n"] for r in results if r["store"] == store and r.get(
            "request_p95_ms_est", min(r["p95_ms"], r.get("p95_ms_1thread", r["p95_ms"]))) <= BUDGET_MS]
        print(f"{store}: largest measured corpus within {BUDGET_MS:.0f} ms p95 "
              f"({'question embedding + dense + BM25' if not args.no_bm25 and embed else 'dense search'}): "
              f"{label(max(ok)) if ok else 'none'}")
    total = time.perf_counter() - started
    print(f"total {total / 60:.1f} min")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"embedding": embed, "results": results, "seconds": total,
                                    "cpus": os.cpu_count(), "load_avg": os.getloadavg()}, indent=2) + "\n")
    print(f"results: {args.out}")
    if args.plot is not None:
        plot(results, embed, args.plot)


if __name__ == "__main__":
    main()

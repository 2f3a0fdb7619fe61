"""Benchmark the HTTP service: /answer latency over the eval questions, and a 16-client load test.

Starts a real `footnote serve` (uvicorn) on a free loopback port against an index of the default corpus
(built first if missing), warms it up, then:

- latency: every eval-set question (with its history) sent one at a time, N passes; p50/p95/max in ms;
- load: C concurrent clients (threads, one HTTP connection each) sending eval questions for S seconds,
  once as they are (repeats: the query embedding is cached) and once made unique (every query embedded);
  requests/s, p50/p95 and the error count (must be 0).

    .venv/bin/python benchmarks/bench_service.py            # latency + 16 clients x 60 s
    .venv/bin/python benchmarks/bench_service.py --seconds 10 --clients 4

Results are printed and written to bench-results/service.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from footnote.eval.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [{"question": r["question"], "history": r.get("history", [])} for r in rows]


def corpus_index(index_dir: Path) -> Path:
    """The default corpus's index, built (or brought up to date) with the default passage settings."""
    from footnote.index.build import update_index

    update_index([ROOT / "corpus"], index_dir, chunk_tokens=int(os.environ.get("FOOTNOTE_CHUNK_TOKENS", 160)),
                 overlap=0, echo=lambda line: None)
    return index_dir


def start_server(index_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "footnote.cli", "serve", "--port", str(port), "--index", str(index_dir)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready in 120 s")


def _summary(times: list[float]) -> dict:
    return {"requests": len(times), "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "max_ms": max(times), "mean_ms": statistics.fmean(times)}


def latency(base: str, questions: list[dict], passes: int) -> dict:
    """First pass: every question new to the server (the query is embedded). Later passes: repeats,
    which the index's query-embedding cache serves, as it would a popular question."""
    first: list[float] = []
    repeat: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        # Warm the process (model, allocator, code paths) on questions that are not in the set.
        for warm in ("What is this corpus about?", "Which ministries are named?", "What is a passage?"):
            client.post("/answer", json={"question": warm})
        for n in range(passes):
            for q in questions:
                t0 = time.perf_counter()
                r = client.post("/answer", json=q)
                (first if n == 0 else repeat).append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
    return {"new_questions": _summary(first), "repeated_questions": _summary(repeat) if repeat else None}


def load(base: str, questions: list[dict], clients: int, seconds: float, unique: bool = False) -> dict:
    """``unique``: every request's question is new (a request number is appended), so none is served
    from the query-embedding cache."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        i = offset
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.perf_counter() < stop_at:
                q = questions[i % len(questions)]
                if unique:
                    q = {**q, "question": f"{q['question']} (request {offset}-{i})"}
                i += 1
                t0 = time.perf_counter()
                try:
                    r = client.post("/answer", json=q)
                    ok = r.status_code == 200
                    err = None if ok else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    err = type(exc).__name__
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    times.append(elapsed)
                    if err:
                        errors.append(err)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k * 7,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "seconds": round(wall, 1), "requests": len(times),
            "requests_per_s": len(times) / wall, "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95), "errors": len(errors), "error_kinds": sorted(set(errors))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "bench-results" / "corpus-index")
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "sets" / "default.jsonl")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    corpus_index(args.index)
    questions = load_questions(args.set)
    port = free_port()
    proc = start_server(args.index, port)
    base = f"http://127.0.0.1:{port}"
    try:
        result = {"machine": f"{os.cpu_count()} cores", "questions": len(questions),
                  "latency": latency(base, questions, args.passes)}
        lat = result["latency"]
        print(f"/answer latency, {len(questions)} new eval questions: p50 {lat['new_questions']['p50_ms']:.1f} ms, "
              f"p95 {lat['new_questions']['p95_ms']:.1f} ms")
        if lat["repeated_questions"]:
            print(f"/answer latency, repeated x {args.passes - 1}: p50 {lat['repeated_questions']['p50_ms']:.1f} ms, "
                  f"p95 {lat['repeated_questions']['p95_ms']:.1f} ms")
        for name, unique in (("load_repeated", False), ("load_unique", True)):
            result[name] = ld = load(base, questions, args.clients, args.seconds, unique=unique)
            print(f"{name}: {ld['clients']} clients x {ld['seconds']} s: {ld['requests_per_s']:.1f} req/s, "
                  f"p50 {ld['p50_ms']:.1f} ms, p95 {ld['p95_ms']:.1f} ms, errors {ld['errors']}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = ROOT / "bench-results" / "service.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Hostile uploads against a real server (issue 26): does any file freeze it or exhaust its memory?

Builds each file of the issue's table, at a size set by the options:

- ``spaces.txt``: ``# x``, N spaces, ``y`` (the heading pattern was quadratic);
- ``comments.md``: ``<!--`` repeated (the Markdown comment, link and image patterns);
- ``stream-bomb.pdf``: one page whose one content stream is a small Flate stream that inflates to M MB;
- ``zip-bomb.docx``: a docx whose ``word/document.xml`` inflates to M MB of one byte;
- ``line.txt``: one line of words, M MB, no sentence end (``chunking._split_long``).

It indexes the default corpus with ``footnote ingest corpus --index <temp>``, starts ``footnote serve`` on a free
loopback port (a process of its own, like a deployment), and uploads the files one at a time (POST /documents).
While each job runs it polls ``/healthz`` and ``/answer`` (a corpus question) and samples the resident memory of
the server process and, separately, of its children (the parse workers). Per file it records the server's RSS
growth over its level before the upload, the workers' peak, ``/healthz`` and ``/answer`` p50/p99, how long the
job took to end, its state and the reason given for the file. Before and after all uploads it asks every
answerable question of ``eval/sets/default.jsonl`` and counts those answered from their own document.

Targets (issue 26): server RSS grows by at most 300 MB; ``/healthz`` p99 under 250 ms; each job ends within its
wall-time limit with its file skipped; every other document stays answerable.

    .venv/bin/python benchmarks/bench_hostile.py                      # the defaults: a few minutes
    .venv/bin/python benchmarks/bench_hostile.py --only pdf docx --pdf-mb 1024 --docx-mb 1024

FOOTNOTE_* variables in the environment reach the server (FOOTNOTE_PARSE_WALL_SECONDS=30, ...). Results are
printed as a Markdown table and written to bench-results/hostile-<time>.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Which company is Rapidus partnering with?"
_MB = 1 << 20
TARGET_RSS_MB = 300.0
TARGET_HEALTHZ_P99_MS = 250.0


# --- the hostile files ----------------------------------------------------------------------------------------

def spaces_txt(spaces: int) -> bytes:
    return b"# x" + b" " * spaces + b"y\n"


def comments_md(repeats: int) -> bytes:
    return b"<!--" * repeats + b"\n"


def _zeros(total: int, piece: bytes = b" " * _MB) -> Iterator[bytes]:
    left = total
    while left > 0:
        yield piece[:left]
        left -= len(piece)


def stream_bomb_pdf(inflated_mb: int) -> bytes:
    """A one-page PDF, written by hand: its content stream shows one line of text and then ``inflated_mb`` MB of
    spaces, Flate-compressed (about 1000:1)."""
    packer = zlib.compressobj(9)
    body = [packer.compress(b"BT /F1 12 Tf 72 720 Td (A page that inflates.) Tj ET\n")]
    body += [packer.compress(piece) for piece in _zeros(inflated_mb * _MB)]
    body.append(packer.flush())
    stream = b"".join(body)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def zip_bomb_docx(inflated_mb: int) -> bytes:
    """A docx whose ``word/document.xml`` is one run of ``inflated_mb`` MB of spaces (deflated about 1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.'
                                                'org/package/2006/content-types"/>')
        with package.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                         b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
            for piece in _zeros(inflated_mb * _MB):
                member.write(piece)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buffer.getvalue()


def long_line_txt(mb: float) -> bytes:
    """One line of ``mb`` MB (10**6 bytes, as the upload limit counts): plain words, no newline and no sentence
    end, so it is one sentence."""
    words = b"harbor lantern copper meadow quarry river saffron willow "
    size = int(mb * 1e6)
    return (words * (size // len(words) + 1))[:size]


@dataclass
class Hostile:
    key: str
    name: str
    what: str
    build: Callable[[], bytes]


def hostile_files(args: argparse.Namespace) -> list[Hostile]:
    files = [
        Hostile("spaces", "spaces.txt", f"`# x`, {args.spaces:,} spaces, `y`", lambda: spaces_txt(args.spaces)),
        Hostile("comments", "comments.md", f"`<!--` × {args.comments:,}", lambda: comments_md(args.comments)),
        Hostile("pdf", "stream-bomb.pdf", f"one content stream inflating to {args.pdf_mb:,} MB",
                lambda: stream_bomb_pdf(args.pdf_mb)),
        Hostile("docx", "zip-bomb.docx", f"word/document.xml inflating to {args.docx_mb:,} MB",
                lambda: zip_bomb_docx(args.docx_mb)),
        Hostile("line", "line.txt", f"one line of {args.line_mb:g} MB", lambda: long_line_txt(args.line_mb)),
    ]
    return [f for f in files if not args.only or f.key in args.only]


# --- the server -----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def build_index(index_dir: Path) -> None:
    subprocess.run([sys.executable, "-m", "footnote.cli", "ingest", "corpus", "--index", str(index_dir), "-q"],
                   cwd=ROOT, env=_env(), check=True)


def start_server(index_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "footnote.cli", "serve", "--index", str(index_dir), "--port", str(port)]
    with log.open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"footnote serve exited ({process.returncode}):\n{log.read_text('utf-8')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("footnote serve did not become ready in 180 s")


class Memory:
    """Resident memory of the server process and of its children (the parse workers), in bytes."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            import psutil

            self._process: Any = psutil.Process(pid)
        except ImportError:
            self._process = None

    def server(self) -> int:
        if self._process is not None:
            return int(self._process.memory_info().rss)
        return _proc_rss(self.pid)

    def workers(self) -> list[int]:
        if self._process is not None:
            sizes = []
            for child in self._process.children(recursive=True):
                try:
                    sizes.append(int(child.memory_info().rss))
                except Exception:  # noqa: BLE001 - a worker that was just replaced
                    continue
            return sizes
        return [_proc_rss(pid) for pid in _children(self.pid)]


def _proc_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text("ascii", "replace").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [g for c in found for g in _children(c)]


# --- one upload -----------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[rank]


@dataclass
class Probe:
    """Requests sent and memory sampled while a job runs, each on its own thread."""

    base: str
    memory: Memory
    healthz_every: float = 0.1
    answer_every: float = 0.5
    healthz: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_peak: int = 0
    workers_peak: int = 0
    workers_sum_peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Probe:
        self._threads = [threading.Thread(target=self._poll_healthz, daemon=True),
                         threading.Thread(target=self._poll_answer, daemon=True),
                         threading.Thread(target=self._sample, daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def _timed(self, client: httpx.Client, into: list[float], send: Callable[[], httpx.Response]) -> None:
        started = time.perf_counter()
        try:
            r = send()
            if r.status_code != 200:
                self.errors.append(f"HTTP {r.status_code}")
        except httpx.HTTPError as exc:
            self.errors.append(type(exc).__name__)
        into.append((time.perf_counter() - started) * 1000)

    def _poll_healthz(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while not self._stop.is_set():
                self._timed(client, self.healthz, lambda: client.get("/healthz"))
                self._stop.wait(self.healthz_every)

    def _poll_answer(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while not self._stop.is_set():
                self._timed(client, self.answers, lambda: client.post("/answer", json={"question": QUESTION}))
                self._stop.wait(self.answer_every)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.server_peak = max(self.server_peak, self.memory.server())
            workers = self.memory.workers()
            self.workers_peak = max([self.workers_peak, *workers])
            self.workers_sum_peak = max(self.workers_sum_peak, sum(workers))
            self._stop.wait(0.05)


def run_one(base: str, memory: Memory, hostile: Hostile, body: bytes, job_timeout: float) -> dict[str, Any]:
    before = memory.server()
    with httpx.Client(base_url=base, timeout=300) as client, Probe(base, memory) as probe:
        started = time.monotonic()
        r = client.post("/documents", files=[("files", (hostile.name, body))])
        if r.status_code != 202:
            return {"file": hostile.name, "error": f"upload refused: HTTP {r.status_code} {r.text[:200]}"}
        job_id = r.json()["id"]
        job: dict[str, Any] = r.json()
        while job["state"] not in ("done", "failed") and time.monotonic() - started < job_timeout:
            time.sleep(0.2)
            job = client.get(f"/jobs/{job_id}").json()
        seconds = time.monotonic() - started
    result = job["files"][0] if job.get("files") else {}
    return {
        "file": hostile.name, "what": hostile.what, "bytes": len(body),
        "server_rss_before_mb": before / _MB, "server_rss_peak_mb": probe.server_peak / _MB,
        "server_rss_growth_mb": max(0, probe.server_peak - before) / _MB,
        "workers_rss_peak_mb": probe.workers_peak / _MB, "workers_rss_sum_peak_mb": probe.workers_sum_peak / _MB,
        "healthz": {"n": len(probe.healthz), "p50_ms": percentile(probe.healthz, 50),
                    "p99_ms": percentile(probe.healthz, 99), "max_ms": max(probe.healthz, default=None)},
        "answer": {"n": len(probe.answers), "p50_ms": percentile(probe.answers, 50),
                   "p99_ms": percentile(probe.answers, 99), "max_ms": max(probe.answers, default=None)},
        "request_errors": sorted(set(probe.errors)), "request_error_count": len(probe.errors),
        "job_id": job_id, "job_seconds": seconds, "job_state": job["state"], "job_error": job.get("error"),
        "file_status": result.get("status"), "reason": result.get("reason"),
    }


# --- answerable before and after ------------------------------------------------------------------------------

def answerable(base: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """How many of the questions are answered with a footnote from their own document."""
    hits = 0
    missed: list[str] = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for q in questions:
            answer = client.post("/answer", json={"question": q["question"], "history": q.get("history", [])}).json()
            cited = {f["doc_id"] for f in answer.get("footnotes", [])} if answer.get("grounded") else set()
            if q["doc"] in cited:
                hits += 1
            else:
                missed.append(q["id"])
        documents = sorted(d["doc_id"] for d in client.get("/documents").json())
    return {"questions": len(questions), "answered_from_their_document": hits, "missed": missed,
            "documents": documents}


def load_questions(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("answerable") and r.get("doc")]


# --- report ---------------------------------------------------------------------------------------------------

def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(rows: list[dict[str, Any]], wall_limit: float) -> str:
    lines = ["| upload | size | server RSS growth | workers' peak RSS | `/healthz` p50 / p99 (n) | "
             "`/answer` p50 / p99 (n) | job ended after | state, file | reason |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['file']} | | | | | | | | {row['error']} |")
            continue
        h, a = row["healthz"], row["answer"]
        lines.append(
            f"| {row['file']}: {row['what']} | {row['bytes'] / 1e6:,.2f} MB | {row['server_rss_growth_mb']:,.0f} MB | "
            f"{row['workers_rss_peak_mb']:,.0f} MB | {_ms(h['p50_ms'])} / {_ms(h['p99_ms'])} ms ({h['n']}) | "
            f"{_ms(a['p50_ms'])} / {_ms(a['p99_ms'])} ms ({a['n']}) | {row['job_seconds']:,.1f} s | "
            f"{row['job_state']}, {row['file_status']} | {row['reason'] or row['job_error'] or ''} |")
    return "\n".join(lines)


def verdicts(rows: list[dict[str, Any]], wall_limit: float, before: dict[str, Any],
             after: dict[str, Any]) -> dict[str, bool]:
    ok_rows = [r for r in rows if "error" not in r]
    return {
        f"server RSS grows by at most {TARGET_RSS_MB:g} MB":
            bool(ok_rows) and all(r["server_rss_growth_mb"] <= TARGET_RSS_MB for r in ok_rows),
        f"/healthz p99 under {TARGET_HEALTHZ_P99_MS:g} ms":
            bool(ok_rows) and all((r["healthz"]["p99_ms"] or 0) < TARGET_HEALTHZ_P99_MS for r in ok_rows),
        f"each job ends within the wall-time limit ({wall_limit:g} s)":
            bool(ok_rows) and len(ok_rows) == len(rows) and all(r["job_seconds"] <= wall_limit for r in ok_rows),
        "each file is skipped": bool(ok_rows) and all(r["file_status"] == "skipped" for r in ok_rows),
        "every corpus document stays answerable":
            after["answered_from_their_document"] >= before["answered_from_their_document"]
            and set(before["documents"]) <= set(after["documents"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spaces", type=int, default=48_000, help="spaces in spaces.txt (default 48,000)")
    parser.add_argument("--comments", type=int, default=24_000, help="`<!--` in comments.md (default 24,000: 96 KB)")
    parser.add_argument("--pdf-mb", type=int, default=256, help="what the PDF's stream inflates to, MB (default 256)")
    parser.add_argument("--docx-mb", type=int, default=256, help="what the docx's XML inflates to, MB (default 256)")
    parser.add_argument("--line-mb", type=float, default=20, help="size of the one-line file, MB of 10**6 bytes "
                        "(default 20; the upload limit is 50)")
    parser.add_argument("--only", nargs="*", choices=["spaces", "comments", "pdf", "docx", "line"], default=[])
    parser.add_argument("--job-timeout", type=float, default=900, help="stop waiting for one job after (s)")
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "sets" / "default.jsonl")
    parser.add_argument("--keep", action="store_true", help="keep the temporary index and server log")
    args = parser.parse_args()

    from footnote.settings import Settings

    settings = Settings()
    wall_limit = settings.parse_wall_seconds
    questions = load_questions(args.set)
    files = hostile_files(args)
    work = Path(tempfile.mkdtemp(prefix="footnote-hostile-"))
    index_dir = work / "index"
    print(f"indexing corpus/ into {index_dir} ...", flush=True)
    build_index(index_dir)
    port = free_port()
    log = work / "serve.log"
    server = start_server(index_dir, port, log)
    base = f"http://127.0.0.1:{port}"
    memory = Memory(server.pid)
    rows: list[dict[str, Any]] = []
    try:
        for _ in range(3):  # warm up: the query model, the code paths
            httpx.post(f"{base}/answer", json={"question": QUESTION}, timeout=120)
        start_rss = memory.server()
        before = answerable(base, questions)
        print(f"server ready (RSS {start_rss / _MB:.0f} MB); {before['answered_from_their_document']} of "
              f"{before['questions']} questions answered from their document", flush=True)
        for hostile in files:
            body = hostile.build()
            print(f"uploading {hostile.name} ({len(body) / 1e6:,.2f} MB: {hostile.what}) ...", flush=True)
            row = run_one(base, memory, hostile, body, args.job_timeout)
            del body
            rows.append(row)
            print(f"  {json.dumps({k: v for k, v in row.items() if k != 'what'})}", flush=True)
        after = answerable(base, questions)
        end_rss = memory.server()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    checks = verdicts(rows, wall_limit, before, after)
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"parse_wall_seconds": wall_limit, "parse_max_mb": settings.parse_max_mb,
                     "parse_cpu_seconds": settings.parse_cpu_seconds, "parse_workers": settings.parse_workers,
                     "job_timeout_seconds": settings.job_timeout_seconds, "zip_max_mb": settings.zip_max_mb,
                     "pdf_max_stream_mb": settings.pdf_max_stream_mb},
        "server_rss_start_mb": start_rss / _MB, "server_rss_end_mb": end_rss / _MB,
        "answerable_before": before, "answerable_after": after, "uploads": rows, "targets": checks,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    out = ROOT / "bench-results" / f"hostile-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(rows, wall_limit))
    print()
    print(f"server RSS {start_rss / _MB:,.0f} MB at start, {end_rss / _MB:,.0f} MB at the end; corpus questions "
          f"answered from their document: {before['answered_from_their_document']} of {before['questions']} before, "
          f"{after['answered_from_their_document']} after")
    for name, ok in checks.items():
        print(f"- {'met' if ok else 'NOT met'}: {name}")
    print(f"\nwritten to {out}")
    if args.keep:
        print(f"index and server log kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

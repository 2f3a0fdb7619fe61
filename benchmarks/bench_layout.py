"""Layout benchmark: how much of a real document's text comes out whole, what page furniture leaks in,
and the tables and headings found, for this checkout and a baseline git revision side by side.

    .venv/bin/python benchmarks/bench_layout.py --baseline c582159 DOC [DOC ...]
    .venv/bin/python benchmarks/bench_layout.py --baseline c582159 ../shared/real-docs/* \
        corpus/cet-index-2025-japan-report.txt

For each document:
- **sentences whole**: the share of the reference text's sentences (eight words or more) found as one
  unbroken run of the ingested document's text (a stamp, a footnote or the next column read into the middle
  of a sentence breaks it), letters compared (digits left out: tools read footnote numbers inline or not).
  The reference is a careful text layer made by another tool: ``pdftotext`` (poppler, reading order by
  columns) for a PDF, the raw file for Markdown and text, BeautifulSoup's ``<p>`` text for HTML;
- **furniture**: page furniture found in the text (margin stamps, print-shop lines, running headers);
- **tables** and **sections** found, and **footnote passages** (footnotes that became sections);
- **parse s**: the median of 3 parses, and its ratio to the baseline's.

The baseline runs from ``git archive REV`` in a child process, so both sides read the same files.
Writes ``bench-results/layout-<time>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_FURNITURE = re.compile(r"VerDate|DSKJLSW7X2PROD|jbell on|Frm \d{5}|Jkt \d{6}|Sfmt \d{4}|Federal Register / Vol\.")
_KEY = re.compile(r"[^a-z]+")
_MIN_WORDS = 8

# Run in a child process with the package of one checkout on sys.path: prints one JSON line per file.
_CHILD = r"""
import json, statistics, sys, time
from pathlib import Path
sys.meta_path = [f for f in sys.meta_path if "__editable__" not in repr(f)]
sys.path.insert(0, sys.argv[1])
from footnote.ingest.documents import parse
from footnote.ingest.sentences import sentence_spans
for name in sys.argv[2:]:
    path = Path(name)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        document = parse(path, path.parent)
        times.append(time.perf_counter() - start)
    text = document.text
    print(json.dumps({
        "file": name, "seconds": statistics.median(times), "title": document.title,
        "sentences": [text[s:e] for s, e in sentence_spans(text)],
        "sections": [list(s.path) for s in document.sections],
        "text": text,
    }))
"""


def package_tree(source: Path, into: Path) -> Path:
    """A folder where ``import footnote`` finds the checkout at ``source`` (the package maps the top-level
    stage folders to footnote.ingest, footnote.index, ...)."""
    package = into / "footnote"
    shutil.copytree(source / "footnote", package)
    for stage in ("ingest", "index", "service", "eval"):
        (package / stage).symlink_to(source / stage, target_is_directory=True)
    return into


def run_child(tree: Path, files: list[str]) -> dict[str, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(tree), *files], capture_output=True, text=True,
                          check=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {row["file"]: row for row in rows}


def reference_sentences(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        paragraphs = re.split(r"\n\s*\n", text)
    elif suffix in (".html", ".htm"):
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "lxml")
        for drop in soup.select("sup, .reference, .mw-editsection"):
            drop.decompose()
        paragraphs = [p.get_text(" ") for p in soup.find_all("p")]
    else:
        raw = path.read_text(encoding="utf-8", errors="replace")
        raw = re.sub(r"```.*?```", "\n\n", raw, flags=re.S)  # code is not prose
        paragraphs = re.split(r"\n\s*\n", raw)
    out: list[str] = []
    for paragraph in paragraphs:
        joined = re.sub(r"(\w)-\n(\w)", r"\1-\2", paragraph)
        joined = re.sub(r"\[\d+\]|\[\^\d+\]|[¹²³⁴⁵⁶⁷⁸⁹⁰]+", "", " ".join(joined.split()))
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", joined):
            if len(sentence.split()) >= _MIN_WORDS:
                out.append(sentence)
    return out


def key(text: str) -> str:
    return _KEY.sub("", text.lower())


def missing(reference: list[str], text: str) -> list[str]:
    """The reference sentences that do not appear, letters and digits compared, as one run of the text."""
    whole = key(text)
    return [sentence for sentence in reference if key(sentence) not in whole]


def whole_share(reference: list[str], text: str) -> float:
    return 1 - len(missing(reference, text)) / len(reference) if reference else 0.0


def measure(row: dict[str, Any], reference: list[str]) -> dict[str, Any]:
    return {
        "seconds": round(row["seconds"], 3),
        "sentences_whole": round(whole_share(reference, row["text"]), 3),
        "missing": missing(reference, row["text"]),
        "furniture": len(_FURNITURE.findall(row["text"])),
        "tables": sum(1 for s in row["sentences"] if s.count("; ") >= 2 and ": " in s.split("; ")[0]),
        "sections": len(row["sections"]),
        "footnote_sections": sum(1 for path in row["sections"] if path[-1].startswith("footnote ")),
        "title": row["title"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare with (default HEAD)")
    args = parser.parse_args()
    files = [str(Path(f).resolve()) for f in args.files]
    with tempfile.TemporaryDirectory() as tmp:
        base_src = Path(tmp) / "src"
        base_src.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base_src)], input=archive.stdout, check=True)
        baseline = run_child(package_tree(base_src, Path(tmp) / "base"), files)
        current = run_child(package_tree(ROOT, Path(tmp) / "now"), files)
    results: list[dict[str, Any]] = []
    print("| document | reference sentences | whole (base → now) | furniture | tables (rows) | sections | "
          "footnote passages | parse s (now / base) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in files:
        reference = reference_sentences(Path(name))
        before, after = measure(baseline[name], reference), measure(current[name], reference)
        ratio = after["seconds"] / before["seconds"] if before["seconds"] else float("nan")
        results.append({"file": name, "reference_sentences": len(reference), "baseline": before, "now": after,
                        "time_ratio": round(ratio, 2)})
        whole = f"{before['sentences_whole']:.3f} → {after['sentences_whole']:.3f}"
        print(f"| {Path(name).name} | {len(reference)} | {whole} "
              f"| {before['furniture']} → {after['furniture']} | {before['tables']} → {after['tables']} "
              f"| {before['sections']} → {after['sections']} | {after['footnote_sections']} "
              f"| {after['seconds']:.2f} / {before['seconds']:.2f} ({ratio:.2f}×) |")
    out = ROOT / "bench-results" / f"layout-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"baseline": args.baseline, "median_of": 3, "results": results}, indent=2))
    median = statistics.median(r["time_ratio"] for r in results)
    print(f"\nwrote {out.relative_to(ROOT)} (median parse time ratio {median:.2f}×)")


if __name__ == "__main__":
    main()

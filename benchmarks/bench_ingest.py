"""Ingest benchmark: parse + chunk time and peak memory on one large generated text file.

    .venv/bin/python benchmarks/bench_ingest.py                  # a 50 MB file: parse + chunk
    .venv/bin/python benchmarks/bench_ingest.py --size-mb 5      # a smaller one
    .venv/bin/python benchmarks/bench_ingest.py --full-mb 1      # also a full `update_index` on a 1 MB file
    .venv/bin/python benchmarks/bench_ingest.py --formats rst,pptx,epub --format-mb 2   # also .rst, .pptx, .epub

Writes ``bench-results/ingest-<time>.json`` and prints one Markdown row per measurement.

The file is plain text made from the real sentences of ``corpus/`` (shuffled with a fixed seed): a title,
short heading lines every ~200 sentences, a Unicode superscript footnote marker (``sufficiently¹²``) after
every 10th sentence, and the definitions of the section's footnotes (``¹² Agency, "Title," https://...``)
after each section, as the shipped report has them. Markers are numbered across the whole file, so a 50 MB
file has ~30,000 distinct footnotes.

Each measurement runs in a fresh child process so its peak RSS (``ru_maxrss``) is that work alone; the
child's RSS after its imports is reported too. Embedding the ~60,000 passages of 50 MB would take hours on
2 cores, so the 50 MB case stops after chunking; ``--full-mb`` runs the whole ingest (parse, chunk, embed
with the real model, write the index) on a smaller file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SENTENCES_PER_SECTION = 200
MARKER_EVERY = 10


def corpus_sentences() -> list[str]:
    """Sentences of the shipped corpus: body lines split at '. ', without footnote markers or definitions."""
    out: list[str] = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        for line in path.read_text("utf-8").splitlines():
            line = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+", "", line.strip().lstrip("-• "))
            if len(line) < 60 or re.match(r"^\d", line) or "http" in line:
                continue
            out.extend(s.strip().rstrip(".") + "." for s in line.split(". ") if len(s.strip()) > 30)
    return out


def generate(path: Path, size_mb: float, seed: int = 13) -> dict[str, int]:
    """Write the benchmark file; return its counts."""
    rng = random.Random(seed)
    pool = corpus_sentences()
    target = int(size_mb * 1_000_000)
    written = sentences = markers = sections = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Generated Technology Report\n\n")
        while written < target:
            sections += 1
            notes: list[int] = []
            parts = [f"Section {sections}\n\n"]
            paragraph: list[str] = []
            for i in range(SENTENCES_PER_SECTION):
                sentence = rng.choice(pool)
                sentences += 1
                if sentences % MARKER_EVERY == 0:
                    markers += 1
                    notes.append(markers)
                    sentence = sentence[:-1] + str(markers).translate(SUPERSCRIPTS) + "."
                paragraph.append(sentence)
                if len(paragraph) == 6 or i == SENTENCES_PER_SECTION - 1:
                    parts.append(" ".join(paragraph) + "\n\n")
                    paragraph = []
            for n in notes:
                parts.append(f'{str(n).translate(SUPERSCRIPTS)} Agency {n}, "Report number {n}," May 2025, '
                             f"https://example.org/reports/{n}.\n\n")
            block = "".join(parts)
            fh.write(block)
            written += len(block.encode("utf-8"))
    return {"bytes": path.stat().st_size, "sentences": sentences, "markers": markers, "sections": sections}


def generate_format(path: Path, fmt: str, size_mb: float, seed: int = 13) -> dict[str, int]:
    """An .rst, .pptx or .epub holding about ``size_mb`` of text, made like ``generate``'s file: sections
    (pptx: slides of 6 sentences) of the corpus's sentences, a footnote marker after every 10th sentence and
    its definition with a URL (rst ``[#n]_`` footnotes, pptx superscript runs and a source line, EPUB
    ``epub:type`` noterefs and asides). ``bytes`` counts the text (a pptx or EPUB is compressed)."""
    rng = random.Random(seed)
    pool = corpus_sentences()
    per = 6 if fmt == "pptx" else SENTENCES_PER_SECTION
    sections: list[list[tuple[str, int]]] = []  # (sentence, its footnote number or 0)
    written = sentences = markers = 0
    while written < size_mb * 1_000_000:
        section: list[tuple[str, int]] = []
        for _ in range(per):
            sentences += 1
            markers += sentences % MARKER_EVERY == 0
            section.append((rng.choice(pool), markers if sentences % MARKER_EVERY == 0 else 0))
            written += len(section[-1][0]) + 1
        sections.append(section)
    {"rst": _write_rst, "pptx": _write_pptx, "epub": _write_epub}[fmt](path, sections)
    return {"bytes": written, "file_bytes": path.stat().st_size, "sentences": sentences, "markers": markers,
            "sections": len(sections)}


def _source(n: int) -> str:
    return f'Agency {n}, "Report number {n}," May 2025, https://example.org/reports/{n}.'


def _write_rst(path: Path, sections: list[list[tuple[str, int]]]) -> None:
    lines = ["Generated Technology Report", "=" * 27, ""]
    for k, section in enumerate(sections, 1):
        lines += [f"Section {k}", "-" * len(f"Section {k}"), ""]
        for i in range(0, len(section), 6):
            lines += [" ".join(f"{s[:-1]} [#n{n}]_." if n else s for s, n in section[i:i + 6]), ""]
        lines += [f".. [#n{n}] {_source(n)}\n" for _, n in section if n]
    path.write_text("\n".join(lines), "utf-8")


def _write_pptx(path: Path, sections: list[list[tuple[str, int]]]) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for k, section in enumerate(sections, 1):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Slide {k}"
        body = slide.placeholders[1].text_frame
        sources = slide.shapes.add_textbox(Inches(0.5), Inches(6.8), Inches(9), Inches(0.5)).text_frame
        for i, (sentence, n) in enumerate(section):
            paragraph = body.paragraphs[0] if i == 0 else body.add_paragraph()
            paragraph.add_run().text = sentence[:-1] if n else sentence
            if n:
                for where, text in ((paragraph, str(n)), (sources.add_paragraph(), str(n))):
                    run = where.add_run()
                    run.text = text
                    run.font._rPr.set("baseline", "30000")
                paragraph.add_run().text = "."
                sources.paragraphs[-1].add_run().text = f" {_source(n)}"
    deck.save(str(path))


def _write_epub(path: Path, sections: list[list[tuple[str, int]]]) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("generated")
    book.set_title("Generated Technology Report")
    chapters = []
    for k, section in enumerate(sections, 1):
        body = [f"<h1>Chapter {k}</h1>"]
        for i in range(0, len(section), 6):
            body.append("<p>" + " ".join(
                f'{s[:-1]}<a epub:type="noteref" href="#n{n}">{n}</a>.' if n else s for s, n in section[i:i + 6]
            ) + "</p>")
        body += [f'<aside epub:type="footnote" id="n{n}"><p>{_source(n)}</p></aside>' for _, n in section if n]
        chapter = epub.EpubHtml(title=f"Chapter {k}", file_name=f"ch{k}.xhtml", lang="en")
        chapter.content = ('<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
                           f"<body>{''.join(body)}</body></html>")
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = chapters
    epub.write_epub(str(path), book)


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, path, index_dir = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from footnote.ingest import chunk, parse
from footnote.index.build import update_index
def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) / 1024 for l in fh if l.startswith("VmRSS:"))
out = {"rss_after_imports_mb": rss_mb()}
def timed(name, work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    out[f"{name}_s"] = time.perf_counter() - wall
    out[f"{name}_cpu_s"] = time.process_time() - cpu
    return result
if mode == "parse-chunk":
    doc = timed("parse", lambda: parse(path))
    passages = timed("chunk", lambda: chunk(doc))
    # The footnote lookup alone, again for every passage (chunk does it once, inside its time above).
    timed("citations", lambda: [doc.citations_between(p.start, p.end) for p in passages])
    out.update(passages=len(passages), footnotes=len(doc.footnotes), markers=len(doc.markers),
               citations=sum(len(p.citations) for p in passages))
    out["total_s"], out["total_cpu_s"] = out["parse_s"] + out["chunk_s"], out["parse_cpu_s"] + out["chunk_cpu_s"]
else:
    report = timed("total", lambda: update_index([path], index_dir, echo=lambda line: None, progress=False))
    out.update(passages=report.passages, embedded_passages=report.embedded_passages,
               embedded_sentences=report.embedded_sentences)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(mode: str, path: Path, workdir: Path) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(workdir / "index")], cwd=ROOT,
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def row(label: str, size: dict[str, int], result: dict[str, Any]) -> str:
    split = ""
    if "parse_s" in result:
        split = (f" (parse {result['parse_s']:.1f}, chunk {result['chunk_s']:.1f}; footnote lookup alone "
                 f"{result['citations_s']:.2f} s)")
    return (f"| {label} | {size['bytes'] / 1e6:.1f} MB | {result['passages']:,} | {result['total_s']:.1f} s{split} | "
            f"{result['total_cpu_s']:.1f} s | {result['peak_rss_mb']:,.0f} MB "
            f"({result['rss_after_imports_mb']:,.0f} MB after imports) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=50.0, help="size of the parse+chunk file (default 50)")
    parser.add_argument("--full-mb", type=float, default=0.0, help="also run a full ingest on a file this big")
    parser.add_argument("--formats", default="", help="also parse + chunk generated files of these formats "
                        "(comma list of rst, pptx, epub) and the real PEP 8 (rst)")
    parser.add_argument("--format-mb", type=float, default=1.0, help="text in each --formats file (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench-results/ingest-*.json)")
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "load_avg": os.getloadavg()}, "runs": []}
    print("| run | file | passages | time | CPU time | peak RSS |\n| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        cases = [("parse + chunk", "parse-chunk", args.size_mb)]
        if args.full_mb > 0:
            cases.append(("full ingest (real model)", "full", args.full_mb))
        for label, mode, size_mb in cases:
            path = work / f"generated-{size_mb:g}mb.txt"
            size = generate(path, size_mb)
            result = measure(mode, path, work)
            results["runs"].append({"label": label, "mode": mode, "file": size, **result})
            print(row(label, size, result), flush=True)
            path.unlink()
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
            path = work / f"generated-{args.format_mb:g}mb.{fmt}"
            size = generate_format(path, fmt, args.format_mb)
            result = measure("parse-chunk", path, work)
            results["runs"].append({"label": f"{fmt}: parse + chunk", "mode": "parse-chunk", "file": size, **result})
            print(row(f"{fmt}: parse + chunk ({size['sections']:,} sections)", size, result), flush=True)
            if fmt == "rst":
                pep8 = ROOT / "tests" / "fixtures" / "peps" / "pep-0008.rst"
                size = {"bytes": pep8.stat().st_size}
                result = measure("parse-chunk", pep8, work)
                results["runs"].append({"label": "PEP 8 (rst)", "mode": "parse-chunk", "file": size, **result})
                print(row("PEP 8 (real rst)", size, result), flush=True)
    results["machine"]["load_avg_after"] = os.getloadavg()
    out = args.out or ROOT / "bench-results" / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f} s in all)")

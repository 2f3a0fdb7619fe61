"""Page render benchmark: what ``GET /documents/{id}/pages/{n}.png`` costs (``service.render``).

    .venv/bin/python benchmarks/bench_pages.py                  # the real Federal Register fixture + a typeset report
    .venv/bin/python benchmarks/bench_pages.py --pdf some.pdf --rounds 5

For each PDF, every page is rendered ``--rounds`` times cold (``render.draw``: open the PDF from its bytes,
draw, encode PNG; no cache), once plain and once with a highlight of 20 words from the middle of the page
(one box per word, as a quote's boxes are one per line), then fetched again through ``Renderer`` (a cache
hit). The typeset report is the seed report (``corpus/cet-index-2025-japan-report.txt``) set in 11 pt
Helvetica on US Letter pages. Writes ``bench-results/pages-<time>.json`` and prints Markdown rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymupdf

from footnote.index.pages import Box
from footnote.service import render

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "real" / "federal-register-2020-17221-pages-1-6.pdf"
REPORT = ROOT / "corpus" / "cet-index-2025-japan-report.txt"


def typeset_report(pages: int = 12) -> bytes:
    """The seed report's paragraphs on US Letter pages, 11 pt, at most ``pages`` pages."""
    document = pymupdf.open()
    page, top = document.new_page(width=612, height=792), 72.0
    for paragraph in [p for p in REPORT.read_text(encoding="utf-8").split("\n") if p.strip()]:
        left = page.insert_textbox(pymupdf.Rect(72, top, 540, 720), paragraph, fontsize=11) if top < 700 else -1.0
        if left < 0:  # does not fit: next page
            if document.page_count >= pages:
                break
            page, top = document.new_page(width=612, height=792), 72.0
            left = page.insert_textbox(pymupdf.Rect(72, top, 540, 720), paragraph, fontsize=11)
        top = 720 - left + 8
    data: bytes = document.tobytes()
    return data


def middle_words(raw: bytes, page_no: int, count: int = 20) -> list[Box]:
    doc = pymupdf.open(stream=raw, filetype="pdf")
    words = doc[page_no - 1].get_text("words")
    mid = max(0, len(words) // 2 - count // 2)
    return [Box(page_no, w[0], w[1], w[2], w[3]) for w in words[mid : mid + count]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * percentile(values, 0.95), 1), "max_ms": round(1000 * max(values), 1)}


def bench(name: str, raw: bytes, rounds: int) -> dict[str, Any]:
    pages = pymupdf.open(stream=raw, filetype="pdf").page_count
    plain: list[float] = []
    marked: list[float] = []
    hits: list[float] = []
    sizes: list[int] = []
    pixels: set[tuple[int, int]] = set()
    renderer = render.Renderer()
    for _ in range(rounds):
        for n in range(1, pages + 1):
            boxes = middle_words(raw, n)
            t = time.perf_counter()
            out = render.draw(raw, n, [])
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            render.draw(raw, n, boxes)
            marked.append(time.perf_counter() - t)
            sizes.append(len(out.png))
            pixels.add((out.width, out.height))
    for n in range(1, pages + 1):
        renderer.render("bench", raw, n, [])
        t = time.perf_counter()
        renderer.render("bench", raw, n, [])
        hits.append(time.perf_counter() - t)
    renderer.close()
    return {"pdf": name, "pages": pages, "bytes": len(raw), "image_px": sorted(pixels),
            "png_kb_mean": round(statistics.mean(sizes) / 1024, 1), "plain": summary(plain),
            "highlighted": summary(marked), "cache_hit": summary(hits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf", type=Path, action="append", help="PDF files (default: the fixture and report)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inputs = [(p.name, p.read_bytes()) for p in args.pdf] if args.pdf else [
        (FIXTURE.name, FIXTURE.read_bytes()), ("typeset report (US Letter, 11 pt)", typeset_report())]
    results = [bench(name, raw, args.rounds) for name, raw in inputs]
    out = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
           "cpus": os.cpu_count(), "max_side_px": render.MAX_SIDE_PX, "max_scale": render.MAX_SCALE,
           "rounds": args.rounds, "results": results}
    folder = ROOT / "bench-results"
    folder.mkdir(exist_ok=True)
    path = folder / f"pages-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print("| PDF | pages | image | PNG | render p50 / p95 | with highlight p50 / p95 | cache hit p50 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        px = ", ".join(f"{w}x{h}" for w, h in r["image_px"])
        print(f"| {r['pdf']} | {r['pages']} | {px} | {r['png_kb_mean']} KB | {r['plain']['p50_ms']} / "
              f"{r['plain']['p95_ms']} ms | {r['highlighted']['p50_ms']} / {r['highlighted']['p95_ms']} ms | "
              f"{r['cache_hit']['p50_ms']} ms |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

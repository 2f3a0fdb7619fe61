"""OCR benchmark: how well, and how fast, Tesseract (through ``ingest.ocr``) reads scanned pages of the seed
report, against the text layer the pages were made from.

    .venv/bin/python benchmarks/bench_ocr.py                    # all pages of the report, scanned at 200 dpi
    .venv/bin/python benchmarks/bench_ocr.py --scan-dpi 300 --ocr-dpi 300 --pages 4

The report (``corpus/cet-index-2025-japan-report.txt``, Markdown emphasis and superscript markers removed) is
typeset with PyMuPDF (11 pt Helvetica, A4-ish page), each page rasterised at ``--scan-dpi`` and put back as an
image-only PDF page: a scan with no text layer. Each page is then OCRed with ``ingest.ocr.page_dict`` at
``--ocr-dpi``. The character error rate (CER) is the Levenshtein distance between the OCR text and the page's
own text layer, white space collapsed, over the text layer's length. Pages per second is OCR alone (render +
Tesseract), wall clock and per CPU second (Tesseract runs inside this process).
Writes ``bench-results/ocr-<time>.json`` and prints a Markdown row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymupdf

from footnote.ingest.ocr import OcrOptions, needs_ocr, page_dict

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "corpus" / "cet-index-2025-japan-report.txt"


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def page_text(data: dict[str, Any]) -> str:
    words = " ".join("".join(span["text"] for span in line["spans"])
                     for block in data["blocks"] for line in block.get("lines", ()))
    return " ".join(words.split())


def typeset(text: str) -> pymupdf.Document:
    """The text on as many pages as it takes (one paragraph at a time, so none is cut at a page end)."""
    document = pymupdf.open()
    page, top = document.new_page(), 72.0
    for paragraph in [p for p in text.split("\n") if p.strip()]:
        while True:
            rect = pymupdf.Rect(72, top, 540, 770)
            left = page.insert_textbox(rect, paragraph, fontsize=11)
            if left >= 0:
                top = 770 - left + 6
                break
            page, top = document.new_page(), 72.0  # did not fit: nothing was written, try a fresh page
    return document


def scan(document: pymupdf.Document, dpi: int) -> pymupdf.Document:
    out = pymupdf.open()
    for page in document:
        image = out.new_page(width=page.rect.width, height=page.rect.height)
        image.insert_image(image.rect, pixmap=page.get_pixmap(dpi=dpi))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan-dpi", type=int, default=200, help="resolution of the simulated scan")
    parser.add_argument("--ocr-dpi", type=int, default=OcrOptions().dpi, help="resolution Tesseract reads at")
    parser.add_argument("--pages", type=int, default=0, help="pages to OCR (0: all)")
    args = parser.parse_args()

    lines = REPORT.read_text(encoding="utf-8").splitlines()
    text = "\n".join(re.sub(r"[\u00b9\u00b2\u00b3\u2070-\u209f]+", "", ln.replace("**", "")) for ln in lines)
    source = typeset(text)
    scanned = scan(source, args.scan_dpi)
    count = scanned.page_count if args.pages <= 0 else min(args.pages, scanned.page_count)
    options = OcrOptions(dpi=args.ocr_dpi)
    errors = chars = 0
    seconds = cpu_seconds = 0.0
    per_page = []
    for number in range(count):
        truth = page_text(source[number].get_text("dict"))
        page = scanned[number]
        assert needs_ocr(page.get_text("dict")), f"page {number + 1} has a text layer"
        started, cpu_started = time.perf_counter(), time.process_time()
        read = page_text(page_dict(page, options))
        took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        cpu_seconds += cpu
        distance = levenshtein(read, truth)
        errors, chars, seconds = errors + distance, chars + len(truth), seconds + took
        per_page.append({"page": number + 1, "chars": len(truth), "edits": distance, "seconds": round(took, 3),
                         "cpu_seconds": round(cpu, 3)})
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "tesseract_language": options.language, "scan_dpi": args.scan_dpi, "ocr_dpi": args.ocr_dpi,
        "pages": count, "chars": chars, "edits": errors, "cer": errors / max(1, chars),
        "pages_per_second": count / seconds if seconds else 0.0,
        "pages_per_cpu_second": count / cpu_seconds if cpu_seconds else 0.0, "per_page": per_page,
    }
    out = ROOT / "bench-results" / f"ocr-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print("| pages | scan dpi | OCR dpi | characters | CER | pages/s (wall) | pages per CPU second |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {count} | {args.scan_dpi} | {args.ocr_dpi} | {chars} | {100 * result['cer']:.2f}% "
          f"| {result['pages_per_second']:.2f} | {result['pages_per_cpu_second']:.2f} |")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

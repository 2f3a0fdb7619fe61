"""OCR of scanned PDF pages (ingest.ocr): a page of the seed report is typeset, rasterised, and put back as
an image-only PDF (a real scan has no text layer either); Tesseract reads it well enough that the Rapidus
question is answered from it, and its footnote says OCR."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest

from footnote.errors import UnreadableDocument
from footnote.ingest import ocr
from footnote.ingest.documents import parse
from footnote.ingest.models import Document
from footnote.ingest.ocr import OcrOptions, OcrUnavailable, needs_ocr, page_dict
from tests.conftest import REPORT

pytestmark = pytest.mark.skipif(ocr.available() is not None, reason="Tesseract is not installed (make install)")

SENTENCE = "Rapidus is partnering with IBM and is collaborating with international institutions such as imec."


def report_section() -> str:
    """The report's Semiconductors section as plain lines: no Markdown emphasis, no superscript markers."""
    lines = REPORT.read_text(encoding="utf-8").splitlines()
    start = lines.index("Semiconductors")
    end = lines.index("Recommendations", start)
    return "\n".join(re.sub(r"[\u00b9\u00b2\u00b3\u2070-\u209f]+", "", line.replace("**", ""))
                     for line in lines[start:end])


def text_pdf(pages: int = 1) -> pymupdf.Document:
    document = pymupdf.open()
    for _ in range(pages):
        page = document.new_page()
        assert page.insert_textbox(pymupdf.Rect(72, 72, 540, 760), report_section(), fontsize=11) >= 0
    return document


def scanned(document: pymupdf.Document, dpi: int = 200) -> bytes:
    """Each page as a picture only: what a scanner makes."""
    out = pymupdf.open()
    for page in document:
        image = out.new_page(width=page.rect.width, height=page.rect.height)
        image.insert_image(image.rect, pixmap=page.get_pixmap(dpi=dpi))
    return out.tobytes()


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scan") / "semiconductors-scan.pdf"
    path.write_bytes(scanned(text_pdf()))
    return path


@pytest.fixture
def no_tesseract(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TESSDATA_PREFIX", raising=False)
    monkeypatch.setattr(ocr, "_TESSDATA_GLOBS", ())
    ocr.tessdata.cache_clear()
    yield
    ocr.tessdata.cache_clear()


def test_needs_ocr_only_for_a_page_that_is_an_image(scan: Path) -> None:
    assert not needs_ocr(text_pdf()[0].get_text("dict"))
    assert needs_ocr(pymupdf.open(scan)[0].get_text("dict"))
    blank = pymupdf.open()
    assert not needs_ocr(blank.new_page().get_text("dict"))


def test_page_dict_has_get_texts_structure(scan: Path) -> None:
    data = page_dict(pymupdf.open(scan)[0], OcrOptions())
    assert data["width"] > 0 and data["height"] > 0
    spans = [span for block in data["blocks"] for line in block["lines"] for span in line["spans"]]
    assert spans and all({"text", "bbox", "size", "flags", "origin"} <= span.keys() for span in spans)
    text = " ".join(" ".join("".join(s["text"] for s in line["spans"]) for line in block["lines"])
                    for block in data["blocks"])
    assert SENTENCE in " ".join(text.split())
    assert not needs_ocr(data)


def test_a_scanned_pdf_is_read_and_marked(scan: Path) -> None:
    doc = parse(scan, scan.parent, OcrOptions())
    assert doc.ocr_pages == (0,) and doc.ocr
    assert SENTENCE in " ".join(doc.text.split())
    row = doc.to_dict()
    assert row["ocr"] is True and row["ocr_pages"] == [0]
    assert Document.from_dict(json.loads(json.dumps(row))).ocr_pages == (0,)
    plain = {k: v for k, v in row.items() if k not in ("ocr", "ocr_pages")}
    assert not Document.from_dict(plain).ocr  # documents.jsonl written before OCR existed


def test_ocr_off_or_capped(scan: Path, tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument, match="no text found"):
        parse(scan, scan.parent, OcrOptions(enabled=False))
    with pytest.raises(UnreadableDocument, match="no text found"):
        parse(scan, scan.parent, None)
    two = tmp_path / "two.pdf"
    two.write_bytes(scanned(text_pdf(pages=2), dpi=150))
    assert parse(two, tmp_path, OcrOptions(max_pages=1, dpi=150)).ocr_pages == (0,)


def test_without_tesseract_one_line_names_the_package(scan: Path, tmp_path: Path, no_tesseract: None) -> None:
    from footnote.index.build import update_index
    from footnote.ingest.worker import ParseLimits

    message = ocr.available("eng")
    assert message is not None and "tesseract-ocr" in message
    with pytest.raises(OcrUnavailable, match="tesseract-ocr"):
        page_dict(pymupdf.open(scan)[0], OcrOptions())
    with pytest.raises(UnreadableDocument, match="tesseract-ocr"):
        parse(scan, scan.parent, OcrOptions())
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(scan.read_bytes())
    (folder / "note.txt").write_text("Kept going: the rest of the ingest is not stopped by a missing OCR.\n")
    lines: list[str] = []
    # Parsed in this process (no workers), where Tesseract's language data is hidden.
    report = update_index([folder], tmp_path / "index", echo=lines.append, ocr=OcrOptions(),
                          limits=ParseLimits(workers=0))
    assert [line for line in lines if "tesseract-ocr" in line and not line.startswith("skipped")] == [
        f"{message}: scanned PDF pages are not read"]
    assert report.documents == 1
    ((shown, why),) = report.skipped
    assert shown.endswith("scan.pdf") and "tesseract-ocr" in why


def test_the_rapidus_question_is_answered_from_the_scan(scan: Path, tmp_path: Path) -> None:
    from footnote.index.build import update_from_settings
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer
    from footnote.service.models import AnswerRequest
    from footnote.settings import Settings

    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / scan.name).write_bytes(scan.read_bytes())
    index_dir = tmp_path / "index"
    update_from_settings([folder], Settings(index_dir=index_dir), echo=lambda line: None)
    stored = [json.loads(line) for line in next(index_dir.rglob("documents.jsonl")).read_text().splitlines()]
    assert [row.get("ocr") for row in stored] == [True]
    index = load(index_dir)
    answer = Answerer(index).answer(AnswerRequest(question="Which company is Rapidus partnering with?"))
    notes = [note for note in answer.footnotes if "IBM" in note.quote]
    assert notes, answer.answer
    note = notes[0]
    assert note.ocr and note.doc_id == "semiconductors-scan"
    assert index.documents[note.doc_id].text[note.start:note.end] == note.quote  # verbatim to the stored text
    assert "(OCR)" in answer.to_markdown()
    assert note.model_dump()["ocr"] is True

"""Hostile corpora: no file stops an ingest, and what is skipped says why."""

from __future__ import annotations

import shutil
from pathlib import Path

from footnote.index.build import update_index
from footnote.index.store import load
from tests.conftest import ARTICLE
from tests.index.fakes import HashingEmbedder
from tests.ingest.test_corrupt import docx, pdf


def _update(paths: list[Path], index_dir: Path, lines: list[str] | None = None):  # noqa: ANN202
    echo = lines.append if lines is not None else (lambda line: None)
    return update_index(paths, index_dir, chunk_tokens=160, overlap=0, echo=echo, embedder=HashingEmbedder())


def test_a_malformed_file_of_each_kind_is_skipped_and_the_run_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "good.txt")
    (folder / "types.docx").write_bytes(docx({"[Content_Types].xml": "<Types/>"}))
    (folder / "root.docx").write_bytes(docx({"word/document.xml": '<?xml version="1.0"?><html><body/></html>'}))
    (folder / "cycle.pdf").write_bytes(pdf("<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[2 0 R]/Count 1>>"))
    lines: list[str] = []
    report = _update([folder], tmp_path / "index", lines)
    assert report.new == ("good.txt",) and load(tmp_path / "index", embedder=HashingEmbedder()).documents
    assert dict(report.skipped) == {
        str(folder / "cycle.pdf"): "cannot parse as PDF (FzErrorFormat: code=7: cycle in page tree)",
        str(folder / "root.docx"):
            "cannot parse as docx (AttributeError: 'lxml.etree._Element' object has no attribute 'body')",
        str(folder / "types.docx"):
            "cannot parse as docx (AttributeError: 'lxml.etree._Element' object has no attribute 'overrides')",
    }
    assert all(f"skipped {path}: {why}" in lines for path, why in report.skipped)

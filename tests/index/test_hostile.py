"""Hostile corpora and killed runs: no file stops an ingest, what is skipped says why, nothing is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from footnote.index import versions
from footnote.index.build import update_index
from footnote.index.load import load
from tests.conftest import ARTICLE, ROOT
from tests.index.fakes import HashingEmbedder
from tests.index.test_crash import KILLER
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


def test_a_link_out_of_the_corpus_is_neither_ingested_nor_served(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from footnote.service.app import create_app
    from footnote.settings import Settings
    from tests.index.fakes import CountingEmbedder

    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "article.txt")
    os.symlink("/etc/passwd", folder / "passwd-link.txt")
    os.symlink("loop.md", folder / "loop.md")
    index_dir = tmp_path / "index"
    lines: list[str] = []
    report = update_index([folder], index_dir, chunk_tokens=160, overlap=0, echo=lines.append,
                          embedder=CountingEmbedder())
    assert report.new == ("article.txt",)
    assert f"skipped {folder / 'passwd-link.txt'}: symbolic link to outside the folder being ingested: " \
           "not followed" in lines
    assert f"skipped {folder / 'loop.md'}: symbolic link loop" in lines
    app = create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir))
    with TestClient(app) as client:
        assert [d["doc_id"] for d in client.get("/documents").json()] == ["article"]
        assert client.get("/documents/passwd-link").status_code == 404


def _listing(index_dir: Path) -> list[str]:
    return sorted(os.listdir(versions.versions_dir(index_dir)))


def test_a_killed_ingest_leaves_no_build_folder_after_the_next_run_even_an_up_to_date_one(
        docs: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    _update([docs], index_dir)
    article = docs / ARTICLE.name
    original = article.read_bytes()
    article.write_text(original.decode() + "\nA new closing sentence.\n", "utf-8")
    # A real ingest process killed with SIGKILL once its data files are written (tests/index/test_crash.py).
    killed = subprocess.Popen([sys.executable, "-c", KILLER, "writing", str(docs), str(index_dir)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, stderr
    (build,) = [name for name in _listing(index_dir) if name.startswith(".tmp-")]
    assert build == f".tmp-v000002-{killed.pid}"
    article.write_bytes(original)  # back as it was: the next run has nothing to do

    lines: list[str] = []
    report = _update([docs], index_dir, lines)
    assert report.up_to_date and _listing(index_dir) == [".lock", "v000001"]
    assert [line.split(" (")[0] for line in lines] == [
        f"removed {build}, the unfinished build of an ingest that was killed"]


def test_only_builds_of_dead_processes_are_removed(docs: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    _update([docs], index_dir)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = int(finished.stdout)
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        folder = versions.versions_dir(index_dir)
        for pid in (dead, running.pid):
            (folder / f".tmp-v000002-{pid}").mkdir()
            (folder / f".tmp-v000002-{pid}" / "passage_vectors.npy").write_bytes(b"\0" * 1_000_000)
        lines: list[str] = []
        assert _update([docs], index_dir, lines).up_to_date
        assert _listing(index_dir) == [".lock", f".tmp-v000002-{running.pid}", "v000001"]
        assert lines == [f"removed .tmp-v000002-{dead}, the unfinished build of an ingest that was killed (1.0 MB)"]
    finally:
        running.kill()
        running.wait()

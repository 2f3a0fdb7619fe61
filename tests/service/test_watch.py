"""``footnote serve --watch``: a real server over a temporary copy of the corpus; editing a file there is
answered within 10 s, deleting it removes its answers, an editor's temporary files are ignored, and a file
that stops parsing keeps its previous version."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footnote.service.watch import ignored
from tests.conftest import ARTICLE, REPORT
from tests.service.conftest import live_server

NEW_SENTENCE = "The Zorblax Observatory in Sapporo opened its quantum telescope to researchers in March 2031."
QUESTION = "When did the Zorblax Observatory open its quantum telescope?"
NOTES = "The Quillfeather Archive in Sendai stores eleven thousand reels of seismic recordings."
NOTES_QUESTION = "How many reels of seismic recordings does the Quillfeather Archive store?"


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, corpus folder) of a server with --watch over a copy of the corpus and a notes file."""
    from footnote.index.build import update_index

    root = tmp_path_factory.mktemp("watch")
    corpus = root / "corpus"
    corpus.mkdir()
    for source in (REPORT, ARTICLE):
        shutil.copy(source, corpus / source.name)
    (corpus / "notes.md").write_text(f"# Notes\n\n{NOTES}\n", encoding="utf-8")
    index = root / "index"
    update_index([corpus], index, echo=lambda line: None)
    with live_server(index, watch=True, corpus_dir=corpus, watch_debounce_ms=200) as url:
        yield url, corpus


def _ask(url: str, question: str) -> dict:
    response = httpx.post(f"{url}/answer", json={"question": question}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _quoted(body: dict, words: str) -> list[dict]:
    return [note for note in body["footnotes"] if words in note["quote"]]


def _sync_jobs(url: str) -> list[dict]:
    return [job for job in httpx.get(f"{url}/jobs", timeout=10).json() if job["kind"] == "sync"]


def _job_ids(url: str) -> set[str]:
    return {job["id"] for job in _sync_jobs(url)}


def _wait_for_job(url: str, name: str, seen: set[str], seconds: float = 10.0) -> dict:
    """The first finished sync job, not among ``seen``, that lists ``name``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for job in reversed(_sync_jobs(url)):  # newest first: the oldest new one
            if job["id"] not in seen and job["state"] in ("done", "failed") \
                    and any(f["name"] == name for f in job["files"]):
                return job
        time.sleep(0.2)
    raise AssertionError(f"no finished sync job for {name} within {seconds} s: {_sync_jobs(url)}")


def test_editor_temporary_files_are_ignored(tmp_path: Path) -> None:
    roots = [tmp_path]
    for name in (".report.txt.swp", "report.txt.swp", "report.txt~", ".#report.txt", "4913", "report.txt.tmp",
                 "~$report.docx", ".hidden/report.txt", "picture.png", "download.pdf.part"):
        assert ignored(tmp_path / name, roots), name
    for name in ("report.txt", "sub/notes.md", "scan.pdf"):
        assert not ignored(tmp_path / name, roots), name


def test_an_edit_is_answered_within_10_s_and_a_delete_removes_its_answers(watched: tuple[str, Path]) -> None:
    url, corpus = watched
    assert not _quoted(_ask(url, QUESTION), "Zorblax")
    before = _job_ids(url)
    target = corpus / REPORT.name
    # Editor noise around the edit: none of it is ingested.
    (corpus / f".{REPORT.name}.swp").write_bytes(b"\x00vim swap")
    (corpus / "4913").write_text("probe", encoding="utf-8")
    (corpus / f"{REPORT.name}~").write_text("backup", encoding="utf-8")
    written = time.monotonic()
    with target.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{NEW_SENTENCE}\n")
    answered = None
    while time.monotonic() - written < 10.0:
        body = _ask(url, QUESTION)
        if _quoted(body, "Zorblax"):
            answered = time.monotonic() - written
            break
        time.sleep(0.25)
    assert answered is not None, "the new sentence was not answered within 10 s"
    job = _wait_for_job(url, REPORT.name, before)
    assert job["state"] == "done", job
    assert [f["name"] for f in job["files"]] == [REPORT.name]  # the swap, probe and backup files were ignored
    assert job["files"][0]["status"] == "ingested"
    assert job["files"][0]["doc_id"] == "cet-index-2025-japan-report"

    before = _job_ids(url)
    target.unlink()
    deleted = time.monotonic()
    while time.monotonic() - deleted < 10.0:
        docs = {d["doc_id"] for d in httpx.get(f"{url}/documents", timeout=10).json()}
        if "cet-index-2025-japan-report" not in docs:
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the deleted file is still in the index after 10 s")
    assert not _quoted(_ask(url, QUESTION), "Zorblax")
    assert not [n for n in _ask(url, "Which company is Rapidus partnering with?")["footnotes"]
                if n["doc_id"] == "cet-index-2025-japan-report"]
    job = _wait_for_job(url, REPORT.name, before)
    assert job["files"][0]["status"] == "removed"


def test_a_file_that_stops_parsing_keeps_its_previous_version(watched: tuple[str, Path]) -> None:
    url, corpus = watched
    assert _quoted(_ask(url, NOTES_QUESTION), "Quillfeather")
    before = _job_ids(url)
    (corpus / "notes.md").write_bytes(b"\x00\x01\x02\xff binary garbage \x00" * 50)
    job = _wait_for_job(url, "notes.md", before)
    assert job["state"] == "done", job
    (result,) = job["files"]
    assert result["status"] == "skipped"
    assert "binary file" in result["reason"] and "previous version is kept" in result["reason"]
    assert _quoted(_ask(url, NOTES_QUESTION), "Quillfeather")  # still answered from the version indexed

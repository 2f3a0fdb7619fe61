"""No upload lost or hidden: the uploads walk and staging, upload/delete order, id clashes with the corpus,
long file names, staging leftovers and job files (issue 26)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from footnote.index.build import update_index
from footnote.ingest import documents
from footnote.service.app import create_app
from footnote.service.names import NameBook, safe_name
from footnote.settings import Settings
from tests.service.conftest import live_server
from tests.service.upload_helpers import LIGHTHOUSE, filler, small_corpus, small_index, wait_job

QUAY = b"Quay\n\nThe Velmora quay is 412 metres long and was paved with basalt in 1902.\n"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_index(tmp_path_factory.mktemp("order"))


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[httpx.Client]:
    with live_server(index_dir, max_upload_mb=1) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def upload(client: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return client.post("/documents", files=[("files", (name, body)) for name, body in files])


def listed(client: httpx.Client) -> dict[str, dict[str, object]]:
    return {str(d["doc_id"]): d for d in client.get("/documents").json()}


def test_the_walk_never_enters_hidden_folders_and_passes_over_what_vanishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".incoming" / "job1").mkdir(parents=True)
    (tmp_path / ".incoming" / "job1" / ".part-1").write_text("x")
    (tmp_path / ".incoming" / "job1" / "staged.txt").write_text("Staged\n\nNot yet.\n")
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "a.txt").write_text("A\n\nGone soon.\n")
    (tmp_path / "kept.txt").write_text("Kept\n\nStays.\n")
    scanned: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str | Path) -> object:
        scanned.append(Path(path).relative_to(tmp_path).as_posix())
        if Path(path) == tmp_path / "gone":  # removed after its parent was listed: the race of issue 26
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # what documents._walk lists with
    found, skipped = documents.discover([tmp_path])
    assert found == [tmp_path / "kept.txt"] and skipped == []
    assert sorted(scanned) == [".", "gone"]


def test_empty_uploads_beside_real_ones_lose_nothing_and_write_no_job_file(
        client: httpx.Client, index_dir: Path) -> None:
    jobs_folder = index_dir.parent / "index.uploads" / ".jobs"
    before = set(jobs_folder.glob("*.json")) if jobs_folder.is_dir() else set()
    stop = threading.Event()
    empty_ids: list[str] = []
    odd: list[str] = []

    def hammer() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=60) as c:
            while not stop.is_set():
                r = upload(c, ("empty.txt", b""))
                if r.status_code != 202 or r.json()["note"] != "nothing to ingest":
                    odd.append(r.text)
                empty_ids.append(r.json()["id"])

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        real = [upload(client, (f"real-{i}.txt", filler(6, seed=100 + i))).json()["id"] for i in range(4)]
        results = [wait_job(client, job_id) for job_id in real]
    finally:
        stop.set()
        thread.join()
    assert [(j["state"], j["files"][0]["status"]) for j in results] == [("done", "ingested")] * 4
    assert {f"real-{i}" for i in range(4)} <= set(listed(client))
    assert len(empty_ids) >= 1 and odd == []
    # A job file for each queued job, none for an upload with nothing to ingest (still answered by GET /jobs).
    written = {p.stem for p in set(jobs_folder.glob("*.json")) - before}
    assert written == set(real)
    assert client.get(f"/jobs/{empty_ids[0]}").json()["note"] == "nothing to ingest"
    assert not any((index_dir.parent / "index.uploads" / ".incoming").iterdir())


def test_delete_then_reupload_of_the_same_file_keeps_it(client: httpx.Client) -> None:
    added = wait_job(client, upload(client, ("lighthouse.txt", LIGHTHOUSE.encode())).json()["id"])
    assert added["files"][0]["status"] == "ingested" and "lighthouse" in listed(client)
    # A long upload first, so the delete is surely still queued when the same file comes again.
    busy = upload(client, ("long-notes.txt", filler(120, seed=7))).json()["id"]
    deleting = client.delete("/documents/lighthouse")
    assert deleting.status_code == 202
    again = upload(client, ("lighthouse.txt", LIGHTHOUSE.encode()))
    assert again.status_code == 202
    assert again.json()["state"] == "queued" and again.json()["files"][0]["status"] == "waiting"
    assert again.json()["files"][0]["stored_as"] == "lighthouse.txt"
    jobs = [wait_job(client, j) for j in (busy, deleting.json()["id"], again.json()["id"])]
    assert [j["state"] for j in jobs] == ["done", "done", "done"]
    assert jobs[1]["files"][0]["status"] == "removed"
    assert (jobs[2]["files"][0]["status"], jobs[2]["files"][0]["doc_id"]) == ("ingested", "lighthouse")
    assert "lighthouse" in listed(client)
    answer = client.post("/answer", json={"question": "Who built the Zephyrine lighthouse?"}).json()
    assert answer["footnotes"][0]["doc_id"] == "lighthouse"


def test_a_delete_while_the_upload_is_queued_is_refused_with_the_reason(client: httpx.Client) -> None:
    busy = upload(client, ("more-notes.txt", filler(120, seed=8))).json()["id"]
    queued = upload(client, ("quay.txt", QUAY)).json()
    r = client.delete("/documents/quay")
    assert r.status_code == 409
    assert r.json()["detail"] == (f"'quay' is still being added by upload job {queued['id']}: delete it once that "
                                  f"job is done (GET /jobs/{queued['id']})")
    assert [wait_job(client, j)["state"] for j in (busy, queued["id"])] == ["done", "done"]
    assert client.delete("/documents/quay").status_code == 202


def test_a_300_byte_file_name_is_stored_cut_with_its_extension(client: httpx.Client, index_dir: Path) -> None:
    name = "東" * 100 + ".TXT"
    assert len(name.encode()) == 304
    r = upload(client, (name, b"Tower\n\nThe Velmora clock tower has stood since 1794.\n"))
    assert r.status_code == 202
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "done", job
    stored = job["files"][0]["stored_as"]
    assert stored == "東" * 81 + ".txt" and len(stored.encode()) == 247
    assert (index_dir.parent / "index.uploads" / stored).is_file()
    assert job["files"][0]["status"] == "ingested"
    assert safe_name("a" * 300 + ".pdf") == "a" * 100 + ".pdf"  # at most 100 characters, whatever their bytes
    book = NameBook([], [(stored, None)])
    assert book.claim(safe_name(name), "sha") == "東" * 81 + "-2.txt"  # the -N fits in the room kept for it


def test_staging_leftovers_are_removed_at_start(tmp_path: Path) -> None:
    update_index([small_corpus(tmp_path / "corpus")], tmp_path / "index", echo=lambda line: None)
    uploads = tmp_path / "index.uploads"
    (uploads / ".incoming" / "0123456789abcdef").mkdir(parents=True)
    (uploads / ".incoming" / "0123456789abcdef" / ".part-1").write_bytes(b"half a file")
    (uploads / ".removed" / "fedcba9876543210").mkdir(parents=True)
    (uploads / ".removed" / "fedcba9876543210" / "old.txt").write_text("Old\n\nGone.\n")
    index = tmp_path / "index"
    with TestClient(create_app(index_dir=index, settings=Settings(index_dir=index))) as c:
        assert c.get("/healthz").status_code == 200
        assert list((uploads / ".incoming").iterdir()) == [] and list((uploads / ".removed").iterdir()) == []


def test_a_corpus_file_and_an_upload_with_the_same_id_both_stay(tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    update_index([corpus], index, echo=lambda line: None)
    with live_server(index) as url, httpx.Client(base_url=url, timeout=60) as c:
        job = wait_job(c, upload(c, ("lighthouse.txt", LIGHTHOUSE.encode())).json()["id"])
        assert (job["state"], job["files"][0]["doc_id"]) == ("done", "lighthouse")
        (corpus / "lighthouse.txt").write_bytes(QUAY)  # the same id from the corpus folder, other text
        lines: list[str] = []
        report = update_index([corpus], index, echo=lines.append)  # `footnote ingest` beside the server
        assert report.skipped == () and report.new == ("lighthouse.txt",)
        assert f"{corpus / 'lighthouse.txt'}: document id 'lighthouse' is taken by " \
               f"{(tmp_path / 'index.uploads' / 'lighthouse.txt').resolve()}; this one is 'lighthouse-2'" in lines
        deadline = time.monotonic() + 30  # the server's watcher swaps the new version in
        while c.get("/readyz").json().get("index_version") != report.version and time.monotonic() < deadline:
            time.sleep(0.1)
        docs = {d["doc_id"]: (d["source"], d["path"]) for d in c.get("/documents").json()}
        assert docs == {"harbor": ("corpus", "harbor.txt"), "lighthouse": ("upload", "lighthouse.txt"),
                        "lighthouse-2": ("corpus", "lighthouse.txt")}
        answer = c.post("/answer", json={"question": "Who built the Zephyrine lighthouse?"}).json()
        assert answer["footnotes"][0]["doc_id"] == "lighthouse"
        answer = c.post("/answer", json={"question": "How long is the Velmora quay?"}).json()
        assert answer["footnotes"][0]["doc_id"] == "lighthouse-2"
        again = update_index([corpus], index, echo=lambda line: None)  # stable: nothing changes
        assert again.up_to_date
        assert wait_job(c, c.delete("/documents/lighthouse").json()["id"])["state"] == "done"
        assert set(d["doc_id"] for d in c.get("/documents").json()) == {"harbor", "lighthouse-2"}


def test_job_files_are_trimmed_as_jobs_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from footnote.service import jobs as jobs_module
    from footnote.service.jobs import Job, JobRunner

    monkeypatch.setattr(jobs_module, "KEEP_JOURNALS", 2)
    holder = SimpleNamespace(index_dir=tmp_path / "index", version="v000001")
    runner = JobRunner(holder, Settings(index_dir=tmp_path / "index"))  # type: ignore[arg-type]
    for i in range(5):
        job = Job(id=f"job{i}", kind="upload", state="queued", created=f"2026-01-0{i + 1}", files=[])
        runner._jobs[job.id] = job
        runner._save(job)
        runner._finish(job, "done")
    folder = tmp_path / "index.uploads" / ".jobs"
    assert sorted(p.name for p in folder.iterdir()) == ["job3.json", "job4.json"]
    assert [j.id for j in runner.recent()] == ["job4", "job3"]

"""Upload jobs under their limits, against a real server (issue 26): a job past FOOTNOTE_JOB_TIMEOUT_SECONDS fails
on its first run with that reason, DELETE /jobs/{id} cancels a queued or a running job, a zip bomb among good
files is refused while the good files are added, and a file that needs more than FOOTNOTE_PARSE_MAX_MB costs its
parse worker, not the job. Every hostile file is small and written here."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import live_server
from tests.service.upload_helpers import LIGHTHOUSE, small_index, wait_job

TIDES = b"Tides\n\nThe Velmora tide tables were first printed in 1923 by the harbour office.\n"
QUAY = b"Quay\n\nThe Velmora quay is 412 metres long and was paved with basalt in 1902.\n"
STOPPED_BEFORE = "cancelled (DELETE /jobs/{id}) before it ran; nothing was changed"
STOPPED_WHILE = "cancelled (DELETE /jobs/{id}) while it ran; nothing was changed"


def slow_text(sentences: int = 40_000) -> bytes:
    """About 2.5 MB of prose that takes a parse worker over ten seconds to split into passages here (and its
    3,600 passages far longer to embed): a job that is still running when the test acts on it."""
    return ("Slow notes\n\n" + " ".join(f"Sentence {i} is about ships and the tower that guides them."
                                         for i in range(sentences)) + "\n").encode()


def bomb_docx(mb: int = 40) -> bytes:
    """A .docx whose word/document.xml expands to ``mb`` MB of spaces: compressed about 1000:1, some 40 KB."""
    body = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
            b'main"><w:body><w:p><w:r><w:t>' + b" " * (mb << 20) + b"</w:t></w:r></w:p></w:body></w:document>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", body)
    return buffer.getvalue()


def _index(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    return small_index(tmp_path_factory.mktemp(name))


@pytest.fixture(scope="module")
def limited_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _index(tmp_path_factory, "limited")


@pytest.fixture(scope="module")
def limited(limited_dir: Path) -> Iterator[httpx.Client]:
    """A server whose parse workers may take 64 MB each (the lowest FOOTNOTE_PARSE_MAX_MB allows)."""
    with live_server(limited_dir, parse_max_mb=64) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def hurried_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _index(tmp_path_factory, "hurried")


@pytest.fixture(scope="module")
def hurried(hurried_dir: Path) -> Iterator[httpx.Client]:
    """A server whose jobs may run for 1 s (FOOTNOTE_JOB_TIMEOUT_SECONDS=1)."""
    with live_server(hurried_dir, job_timeout_seconds=1) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def upload(client: httpx.Client, *files: tuple[str, bytes]) -> dict[str, Any]:
    r = client.post("/documents", files=[("files", (name, body)) for name, body in files])
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


def documents(client: httpx.Client) -> set[str]:
    return {str(d["path"]) for d in client.get("/documents").json()}


def uploads_folder(index_dir: Path) -> Path:
    return index_dir.parent / "index.uploads"


def stored(index_dir: Path) -> set[str]:
    """The files in the uploads folder (not its hidden staging, trash and journal folders)."""
    folder = uploads_folder(index_dir)
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.is_dir() else set()


def staging_left(index_dir: Path) -> list[Path]:
    folder = uploads_folder(index_dir) / ".incoming"
    return list(folder.iterdir()) if folder.is_dir() else []


def wait_state(client: httpx.Client, job_id: str, states: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def grounded_in(client: httpx.Client, question: str) -> set[str]:
    answer = client.post("/answer", json={"question": question}).json()
    return {f["doc_id"] for f in answer["footnotes"]} if answer["grounded"] else set()


def test_a_job_past_its_time_limit_fails_on_its_first_run(hurried: httpx.Client, hurried_dir: Path) -> None:
    before = documents(hurried)
    started = time.monotonic()
    job = wait_job(hurried, upload(hurried, ("slow.txt", slow_text()))["id"], timeout=60)
    took = time.monotonic() - started
    assert job["state"] == "failed", job
    assert job["error"] == ("stopped: the job ran for more than 1 s (FOOTNOTE_JOB_TIMEOUT_SECONDS); "
                            "nothing was changed")
    assert job["attempts"] == 1  # the first run, not after restarts
    assert took < 20  # the parse worker reading it was stopped, not waited for
    [result] = job["files"]
    assert (result["status"], result["reason"]) == ("skipped", "not added: the job failed")
    assert documents(hurried) == before
    assert "slow.txt" not in stored(hurried_dir)
    assert staging_left(hurried_dir) == []
    assert hurried.get("/healthz").status_code == 200


def test_delete_job_cancels_a_queued_job_and_then_the_running_one(limited: httpx.Client, limited_dir: Path) -> None:
    before = documents(limited)
    slow = upload(limited, ("slow.txt", slow_text()))
    queued = upload(limited, ("lighthouse.txt", LIGHTHOUSE.encode()))
    assert queued["state"] == "queued"
    assert wait_state(limited, slow["id"], {"parsing", "embedding", "done", "failed"})["state"] == "parsing"

    r = limited.delete(f"/jobs/{queued['id']}")
    assert r.status_code == 202 and r.headers["location"] == f"/jobs/{queued['id']}"
    cancelled = r.json()
    assert (cancelled["state"], cancelled["error"]) == ("failed", STOPPED_BEFORE)
    assert [(f["status"], f["reason"]) for f in cancelled["files"]] == [("skipped", "not added: the job failed")]
    assert limited.get(f"/jobs/{queued['id']}").json() == cancelled

    r = limited.delete(f"/jobs/{slow['id']}")
    assert r.status_code == 202 and r.json()["note"] == "cancelling"
    started = time.monotonic()
    ended = wait_job(limited, slow["id"], timeout=30)
    assert time.monotonic() - started < 10  # at its next check, a fraction of a second, not after the file
    assert (ended["state"], ended["error"]) == ("failed", STOPPED_WHILE)
    assert ended["files"][0]["status"] == "skipped"

    assert documents(limited) == before
    assert stored(limited_dir) == set()
    assert staging_left(limited_dir) == []
    assert grounded_in(limited, "Who built the Zephyrine lighthouse?") == set()
    # A finished job is returned as it is; an unknown one is 404.
    assert limited.delete(f"/jobs/{slow['id']}").json()["error"] == STOPPED_WHILE
    assert limited.delete("/jobs/0123456789abcdef").status_code == 404


def test_a_zip_bomb_among_good_files_is_refused_and_the_good_files_are_added(
        limited: httpx.Client, limited_dir: Path) -> None:
    job = wait_job(limited, upload(limited, ("tides.txt", TIDES), ("bomb.docx", bomb_docx()),
                                   ("quay.txt", QUAY))["id"])
    assert job["state"] == "done", job
    results = {f["name"]: f for f in job["files"]}
    assert results["tides.txt"]["status"] == "ingested" and results["quay.txt"]["status"] == "ingested"
    bomb = results["bomb.docx"]
    assert bomb["status"] == "skipped"
    assert bomb["reason"].startswith("refused: word/document.xml is compressed ")
    assert bomb["reason"].endswith(":1, more than 100:1 (FOOTNOTE_ZIP_MAX_RATIO): a zip bomb")
    assert {"tides.txt", "quay.txt"} <= documents(limited) and "bomb.docx" not in documents(limited)
    assert "bomb.docx" not in stored(limited_dir)
    assert grounded_in(limited, "When were the Velmora tide tables first printed?") == {"tides"}
    assert grounded_in(limited, "How long is the Velmora quay?") == {"quay"}
    assert "harbor" in grounded_in(limited, "Who dredged the old harbor of Velmora?")


def test_a_file_past_the_memory_limit_costs_its_worker_not_the_job(limited: httpx.Client, limited_dir: Path) -> None:
    hog = b"word " * ((24 << 20) // 5)  # 24 MB of one word: reading and splitting it take well over 64 MB
    started = time.monotonic()
    job = wait_job(limited, upload(limited, ("hog.txt", hog), ("beacon.txt", b"Beacon\n\nThe Orsk beacon "
                                                                             b"burns whale oil since 1850.\n"))["id"])
    assert job["state"] == "done", job
    results = {f["name"]: f for f in job["files"]}
    assert (results["hog.txt"]["status"], results["hog.txt"]["reason"]) == \
        ("skipped", "stopped: it needed more than 64 MB of memory to read (FOOTNOTE_PARSE_MAX_MB)")
    assert results["beacon.txt"]["status"] == "ingested"
    assert time.monotonic() - started < 60
    assert "hog.txt" not in stored(limited_dir) and "hog.txt" not in documents(limited)
    assert grounded_in(limited, "What does the Orsk beacon burn?") == {"beacon"}
    # The worker that was killed was replaced: the next upload is read as usual.
    again = wait_job(limited, upload(limited, ("lamp.txt", b"Lamp\n\nThe Orsk lamp was lit in 1851.\n"))["id"])
    assert again["state"] == "done" and again["files"][0]["status"] == "ingested"

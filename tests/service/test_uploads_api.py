"""Uploads over HTTP against a real server: safe names, formats, limits, keys, queueing, delete."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from footnote.ingest import parse
from footnote.service.app import create_app
from footnote.settings import Settings
from tests.service.conftest import live_server
from tests.service.upload_helpers import LIGHTHOUSE, filler, small_index, wait_job

QUESTION = "Who built the Zephyrine lighthouse?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_index(tmp_path_factory.mktemp("uploads"))


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[httpx.Client]:
    with live_server(index_dir, max_upload_mb=1) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def upload(client: httpx.Client, *files: tuple[str, bytes], **headers: str) -> httpx.Response:
    return client.post("/documents", files=[("files", (name, body)) for name, body in files], headers=headers)


def ask(client: httpx.Client, question: str) -> dict:
    return client.post("/answer", json={"question": question}).json()


def test_upload_a_traversal_name_ask_it_and_delete_it(client: httpx.Client, index_dir: Path) -> None:
    r = upload(client, ("../../lighthouse.txt", LIGHTHOUSE.encode()))
    assert r.status_code == 202 and r.headers["location"] == f"/jobs/{r.json()['id']}"
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "done", job
    [result] = job["files"]
    assert (result["name"], result["stored_as"], result["status"], result["doc_id"]) == \
        ("../../lighthouse.txt", "lighthouse.txt", "ingested", "lighthouse")
    uploads = index_dir.parent / "index.uploads"
    assert (uploads / "lighthouse.txt").read_text("utf-8") == LIGHTHOUSE
    assert not (index_dir.parent.parent / "lighthouse.txt").exists()

    listed = {d["doc_id"]: d for d in client.get("/documents").json()}
    assert listed["lighthouse"]["source"] == "upload" and listed["lighthouse"]["passages"] == 1
    assert listed["harbor"]["source"] == "corpus" and listed["harbor"]["added"]
    answer = ask(client, QUESTION)
    assert answer["grounded"] and answer["footnotes"][0]["doc_id"] == "lighthouse"
    assert answer["footnotes"][0]["quote"] == \
        "The Zephyrine lighthouse was built in 1887 by the engineer Mattias Koller."

    # The same bytes again are stored once; a clashing name with other bytes gets a name of its own.
    again = wait_job(client, upload(client, ("lighthouse.txt", LIGHTHOUSE.encode())).json()["id"])
    assert again["files"][0]["status"] == "skipped"
    assert again["files"][0]["reason"] == "identical to lighthouse.txt, already added"
    clash = wait_job(client, upload(client, ("Harbor.TXT", b"Harbor\n\nA different harbor text.\n")).json()["id"])
    assert (clash["files"][0]["stored_as"], clash["files"][0]["doc_id"]) == ("Harbor-2.txt", "harbor-2")
    assert client.get("/documents/harbor").json()["text"].startswith("Harbor notes\n\nThe old harbor of Velmora")

    r = client.delete("/documents/harbor")
    assert r.status_code == 409
    assert r.json()["detail"].startswith("'harbor' is part of the corpus folder (harbor.txt), which is read-only")
    assert client.delete("/documents/no-such-doc").status_code == 404

    r = client.delete("/documents/lighthouse")
    assert r.status_code == 202
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "done" and job["files"][0]["status"] == "removed"
    assert "lighthouse" not in {d["doc_id"] for d in client.get("/documents").json()}
    assert not (uploads / "lighthouse.txt").exists()
    assert ask(client, QUESTION)["grounded"] is False


def test_formats_empty_and_mismatched_files(client: httpx.Client, tmp_path: Path) -> None:
    r = upload(client, ("tool.exe", b"MZ\x90\x00"), ("notes", b"no extension"))
    assert r.status_code == 415
    assert r.json()["detail"] == ("nothing to ingest (tool.exe: unsupported format (.exe); notes: unsupported "
                                  "format (no extension)): upload .docx, .epub, .htm, .html, .markdown, .md, "
                                  ".pdf, .pptx, .rest, .rst, .text, .txt files")

    fake = tmp_path / "scan.pdf"
    fake.write_bytes(b"this is plain text, not a PDF")
    try:
        parse(fake, tmp_path)
        raise AssertionError("a text file named .pdf must not parse")
    except Exception as exc:  # the reason ingest gives is the reason the job gives
        expected = exc.reason  # type: ignore[attr-defined]
    r = upload(client, ("scan.pdf", fake.read_bytes()), ("empty.md", b""), ("tool.exe", b"MZ"),
               ("tides.txt", b"Tides\n\nThe Velmora tide tables were first printed in 1923.\n"))
    assert r.status_code == 202
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "done", job
    results = {f["name"]: (f["status"], f["reason"]) for f in job["files"]}
    assert results == {"scan.pdf": ("skipped", expected), "empty.md": ("skipped", "empty file"),
                       "tool.exe": ("skipped", "unsupported format (.exe)"), "tides.txt": ("ingested", None)}
    names = {d["path"] for d in client.get("/documents").json()}
    assert "scan.pdf" not in names and "tides.txt" in names


def test_size_limits_give_413_with_the_limit(client: httpx.Client) -> None:
    big = b"a" * 1_100_000
    r = upload(client, ("big.txt", big))
    assert r.status_code == 413
    assert r.json()["detail"] == "big.txt is 1.1 MB, over the limit of 1 MB per file (FOOTNOTE_MAX_UPLOAD_MB)"
    r = upload(client, ("a.txt", b"a" * 600_000), ("b.txt", b"b" * 600_000))
    assert r.status_code == 413
    assert r.json()["detail"] == \
        "the files add up to 1.2 MB, over the limit of 1 MB per request (FOOTNOTE_MAX_UPLOAD_MB)"
    r = upload(client, ("huge.txt", b"a" * 3_000_000))
    assert r.status_code == 413
    assert r.json()["detail"].endswith("over the limit of 1 MB per request (FOOTNOTE_MAX_UPLOAD_MB)")
    r = client.post("/documents", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    assert "multipart/form-data" in r.json()["detail"]


def test_two_uploads_at_once_queue_and_both_land(client: httpx.Client) -> None:
    replies: dict[str, httpx.Response] = {}

    def send(name: str, body: bytes) -> None:
        replies[name] = upload(client, (name, body))

    first = threading.Thread(target=send, args=("field-notes.txt", filler(150, seed=1)))
    first.start()
    first.join()
    second = threading.Thread(target=send, args=("quay.txt", b"Quay\n\nThe Velmora quay is 412 metres long.\n"))
    second.start()
    second.join()
    assert replies["field-notes.txt"].status_code == replies["quay.txt"].status_code == 202
    assert replies["quay.txt"].json()["state"] == "queued"  # behind the first, still ingesting
    jobs = [wait_job(client, replies[name].json()["id"]) for name in ("field-notes.txt", "quay.txt")]
    assert [j["state"] for j in jobs] == ["done", "done"]
    assert jobs[0]["passages_done"] == jobs[0]["passages_total"] > 10
    assert jobs[0]["index_version"] < jobs[1]["index_version"]
    listed = {d["doc_id"] for d in client.get("/documents").json()}
    assert {"field-notes", "quay"} <= listed
    assert ask(client, "How long is the Velmora quay?")["footnotes"][0]["doc_id"] == "quay"
    recent = [j["id"] for j in client.get("/jobs").json()]
    assert recent[:2] == [jobs[1]["id"], jobs[0]["id"]]


def test_writes_need_the_key_when_one_is_set(index_dir: Path) -> None:
    app = create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir, api_key="s3cret"))
    with TestClient(app) as c:
        r = c.post("/documents", files=[("files", ("x.txt", b"X\n\nSomething."))])
        assert r.status_code == 401
        assert r.json()["detail"] == "missing or wrong API key: send `Authorization: Bearer <FOOTNOTE_API_KEY>`"
        assert c.delete("/documents/harbor", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get("/jobs").status_code == 401
        r = c.delete("/documents/harbor", headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 409  # past the key: a corpus document


def test_without_a_key_writes_need_localhost(index_dir: Path) -> None:
    app = create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir, host="0.0.0.0"))
    with TestClient(app) as c:
        r = c.post("/documents", files=[("files", ("x.txt", b"X\n\nSomething."))])
        assert r.status_code == 403
        assert r.json()["detail"] == (
            "uploads and deletes are off: this server listens on 0.0.0.0 and FOOTNOTE_API_KEY is not set; set "
            "FOOTNOTE_API_KEY (and send `Authorization: Bearer <key>`) or listen on 127.0.0.1")
        assert c.get("/documents").status_code == 200  # reads keep their rules
    app = create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        r = c.post("/documents", files=[("files", ("x.txt", b"X\n\nSomething."))],
                   headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        assert r.json()["detail"] == ("cross-site request from https://evil.example refused: upload from this "
                                      "server's own page")

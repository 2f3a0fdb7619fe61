"""A real `footnote serve` process killed with SIGKILL while an upload is being embedded: the old index
keeps answering, and the restarted server runs the upload again until it lands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footnote.index.build import update_index
from footnote.index.load import current_version
from tests.conftest import ROOT
from tests.service.upload_helpers import filler, small_corpus, wait_job


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(index_dir: Path) -> tuple[subprocess.Popen[bytes], httpx.Client]:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", FOOTNOTE_CORPUS_DIR=str(tmp_path / "none"))
        log = (tmp_path / f"server-{len(started)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "footnote.cli", "serve", "--port", str(port),
                                 "--index", str(index_dir)], cwd=ROOT, env=env, stdout=log, stderr=log)
        started.append(proc)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / f"server-{len(started) - 1}.log").read_text()
            try:
                if client.get("/readyz").status_code == 200:
                    return proc, client
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("the server did not become ready")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_kill_during_the_ingest_keeps_the_old_index_and_the_upload_runs_again(serve, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    update_index([small_corpus(tmp_path / "corpus")], index_dir, echo=lambda line: None)
    proc, client = serve(index_dir)

    r = client.post("/documents", files=[("files", ("field-notes.txt", filler(700, seed=7)))])
    assert r.status_code == 202
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:  # kill it in the middle of embedding
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] == "embedding" and 0 < job["passages_total"]:
            break
        assert job["state"] in ("queued", "parsing") and time.monotonic() < deadline, job
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    assert current_version(index_dir) == "v000001"  # the new version was never published
    proc, client = serve(index_dir)
    answer = client.post("/answer", json={"question": "When was the old harbor of Velmora dredged?"}).json()
    assert answer["grounded"] and answer["footnotes"][0]["doc_id"] == "harbor"

    job = wait_job(client, job_id)
    assert (job["state"], job["attempts"], job["note"]) == \
        ("done", 2, "the server stopped during this job; it runs again")
    assert job["files"][0]["status"] == "ingested" and job["index_version"] == "v000002"
    assert {d["doc_id"] for d in client.get("/documents").json()} == {"harbor", "field-notes"}
    stored = [n for n in os.listdir(index_dir.parent / "index.uploads") if not n.startswith(".")]
    assert stored == ["field-notes.txt"]

"""A worst-case request does not stall the server: /healthz keeps answering while it runs.

The server runs in its own process (``footnote serve``): a regular expression that backtracks holds the
interpreter lock, and a server in the test's own process would freeze the test with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.test_patterns import LIMITS, worst_history


@pytest.fixture(scope="module")
def serve_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve") / "stderr.log"


@pytest.fixture(scope="module")
def served(corpus_index: Path, serve_log: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    command = [sys.executable, "-c", "from footnote.cli import main; main()", "serve", "--index", str(corpus_index),
               "--port", str(port)]
    log = serve_log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("footnote serve did not become ready")
        yield url
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


def test_the_server_says_what_it_serves_and_how_it_embeds(served: str, serve_log: Path, corpus_index: Path) -> None:
    from footnote.index.load import current_version

    lines = serve_log.read_text("utf-8").splitlines()
    assert "INFO:     queries are embedded on onnx" in lines
    assert f"INFO:     serving index version {current_version(corpus_index)} (39 passages)" in lines


def test_healthz_answers_while_a_worst_case_request_runs(served: str) -> None:
    history = [turn.model_dump() for turn in worst_history(LIMITS.max_history_chars)]
    question = "what about a" + " " * (LIMITS.max_question_chars - 13) + "x"
    result: dict[str, object] = {}

    def worst() -> None:
        try:
            r = httpx.post(f"{served}/answer", json={"question": question, "history": history}, timeout=120)
            result["status"] = r.status_code
        except httpx.TransportError as exc:
            result["error"] = exc

    worker = threading.Thread(target=worst)
    start = time.monotonic()
    worker.start()
    health: list[float] = []
    while worker.is_alive() and time.monotonic() - start < 120:
        t = time.monotonic()
        try:
            assert httpx.get(f"{served}/healthz", timeout=5).json() == {"status": "ok"}
        except httpx.TimeoutException:
            pytest.fail(f"/healthz did not answer within 5 s while the request ran ({time.monotonic() - start:.0f} s)")
        health.append(time.monotonic() - t)
        time.sleep(0.1)
    worker.join(timeout=1)
    assert not worker.is_alive(), "the worst-case request was still running after 120 s"
    assert result == {"status": 200}
    assert sum(len(turn["content"]) for turn in history) == LIMITS.max_history_chars

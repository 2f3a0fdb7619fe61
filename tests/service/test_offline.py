"""Offline for real: `footnote ingest` and `footnote serve`, run as their own processes under a socket guard,
make no connection and no DNS lookup beyond loopback, and write nothing in the home folder (issue 26:
onnxruntime's telemetry looked up mobile.events.data.microsoft.com and wrote under ~/.cache/Microsoft)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.service.upload_helpers import LIGHTHOUSE, small_corpus, wait_job

# Loaded by every Python process started with this folder on PYTHONPATH: each connect, DNS lookup or datagram
# beyond loopback is written to FOOTNOTE_NET_LOG and refused.
GUARD = '''
import os, socket

_LOG = os.environ["FOOTNOTE_NET_LOG"]
_LOCAL = {None, "", "localhost", "localhost.localdomain", "ip6-localhost", "::1", "0.0.0.0", "::"}


def _local(host):
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return host in _LOCAL or str(host).startswith("127.") or str(host).startswith("::ffff:127.")


def _refuse(what, target):
    with open(_LOG, "a") as out:
        out.write(f"{os.getpid()} {what} {target!r}\\n")
    raise OSError(101, f"network access refused by the test: {what} {target!r}")


def _address(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse("connect", address)


_connect, _connect_ex, _sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
_getaddrinfo, _gethostbyname, _gethostbyname_ex = socket.getaddrinfo, socket.gethostbyname, socket.gethostbyname_ex


def connect(self, address):
    _address(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _address(self, address)
    return _connect_ex(self, address)


def sendto(self, data, *args):
    _address(self, args[-1])
    return _sendto(self, data, *args)


def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):
    if not _local(host):
        _refuse("gethostbyname", host)
    return _gethostbyname(host)


def gethostbyname_ex(host):
    if not _local(host):
        _refuse("gethostbyname_ex", host)
    return _gethostbyname_ex(host)


socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
socket.getaddrinfo, socket.gethostbyname, socket.gethostbyname_ex = getaddrinfo, gethostbyname, gethostbyname_ex
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp_path: Path) -> dict[str, str]:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FOOTNOTE_", "XDG_", "HF_", "TRANSFORMERS_", "ORT_", "PYTHONPATH"))}
    env.update(HOME=str(home), TMPDIR=str(temp), PYTHONPATH=os.pathsep.join([str(guard), str(ROOT)]),
               FOOTNOTE_NET_LOG=str(tmp_path / "network.log"), FOOTNOTE_CORPUS_DIR=str(tmp_path / "none"))
    return env


def test_the_guard_refuses_and_records_what_is_beyond_loopback(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    code = ("import socket\n"
            "try:\n    socket.getaddrinfo('mobile.events.data.microsoft.com', 443)\nexcept OSError as e:\n"
            "    print('refused', e.errno)\n"
            "socket.getaddrinfo('127.0.0.1', 80)\n"
            "import os, footnote\nprint(os.environ['ORT_DISABLE_TELEMETRY'])\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout == "refused 101\n1\n", out.stderr  # and the footnote package turns telemetry off
    assert (tmp_path / "network.log").read_text().split(" ", 1)[1] == \
        "getaddrinfo 'mobile.events.data.microsoft.com'\n"


def test_ingest_and_serve_stay_on_loopback_and_out_of_home(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    ingest = subprocess.run([sys.executable, "-m", "footnote.cli", "ingest", str(corpus), "--index", str(index)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "footnote.cli", "serve", "--port", str(port), "--index",
                               str(index), "--keep-alive", "3", "--max-connections", "20"],
                              cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 180
            while True:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not become ready"
                time.sleep(0.2)
            r = client.post("/documents", files=[("files", ("lighthouse.txt", LIGHTHOUSE.encode()))])
            assert wait_job(client, r.json()["id"])["state"] == "done"
            answer = client.post("/answer", json={"question": "Who built the Zephyrine lighthouse?"}).json()
            assert answer["footnotes"][0]["doc_id"] == "lighthouse"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    served = (tmp_path / "server.log").read_text()
    assert "Uvicorn running" in served and "queries are embedded on onnx" in served  # onnxruntime was loaded
    network = tmp_path / "network.log"
    assert not network.exists(), network.read_text()
    assert sorted(p.relative_to(tmp_path / "home").as_posix() for p in (tmp_path / "home").rglob("*")) == []

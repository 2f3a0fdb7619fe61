"""`footnote serve`'s server settings (issue 26): keep-alive, a connection limit, the shutdown wait and the
trusted proxies reach uvicorn, and an idle connection is closed after the keep-alive."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from click.testing import CliRunner

from footnote.cli import main, server_options
from footnote.settings import Settings


def test_the_settings_become_uvicorn_options() -> None:
    assert server_options(Settings()) == {
        "host": "127.0.0.1", "port": 8000, "timeout_keep_alive": 5, "limit_concurrency": 100,
        "timeout_graceful_shutdown": 10, "proxy_headers": True, "forwarded_allow_ips": "127.0.0.1,::1"}
    options = server_options(Settings(keep_alive_seconds=2, max_connections=7, graceful_shutdown_seconds=0,
                                      forwarded_allow_ips="10.0.0.5"))
    assert (options["timeout_keep_alive"], options["limit_concurrency"], options["timeout_graceful_shutdown"],
            options["forwarded_allow_ips"]) == (2, 7, 0, "10.0.0.5")


def test_serve_options_are_checked() -> None:
    runner = CliRunner()
    help_text = runner.invoke(main, ["serve", "--help"]).output
    for option in ("--keep-alive", "--max-connections", "--graceful-shutdown", "--forwarded-allow-ips"):
        assert option in help_text
    bad = runner.invoke(main, ["serve", "--keep-alive", "0"])
    assert bad.exit_code == 2 and "0 is not in the range 1<=x<=300" in bad.output


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def test_an_idle_connection_is_closed_after_the_keep_alive() -> None:
    options = server_options(Settings(keep_alive_seconds=1, max_connections=5))
    del options["host"], options["port"]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_app, log_level="warning", lifespan="off", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        with socket.create_connection(sock.getsockname(), timeout=10) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            reply = b""
            while not reply.endswith(b"\r\n\r\nok"):
                reply += conn.recv(4096)
            assert reply.startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            assert conn.recv(4096) == b""  # closed by the server, idle
            assert 0.5 < time.monotonic() - started < 5
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

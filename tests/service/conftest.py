"""A real uvicorn server on a free 127.0.0.1 port, for tests that talk HTTP like a user's client does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def live_server(index_dir: Path, api_key: str | None = None, **settings: object) -> Iterator[str]:
    """Serve the app for ``index_dir`` in a background thread; yields its base URL. ``settings``: more
    ``Settings`` fields (``max_upload_mb=1``)."""
    import uvicorn

    from footnote.service.app import create_app
    from footnote.settings import Settings

    # Explicit settings: a module-scoped server starts before the per-test environment isolation.
    config = Settings(index_dir=index_dir, api_key=api_key, **settings)  # type: ignore[arg-type]
    app = create_app(index_dir=index_dir, settings=config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound before the server starts: no race for the port
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def corpus_server(corpus_index: Path) -> Iterator[str]:
    """Base URL of a live server answering from the default corpus (no API key)."""
    with live_server(corpus_index) as url:
        yield url

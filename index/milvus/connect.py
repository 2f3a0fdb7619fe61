"""Connections to Milvus: one client per URI per process, and the URI forms Footnote accepts.

A path ending in ``.db`` is Milvus Lite, embedded in this process (one process per file: a second one fails
on its lock); ``http(s)://host:port`` is a Milvus server or cluster shared by many ``footnote serve`` replicas.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from footnote.errors import IndexError_, SettingError

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def is_lite(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


def normalize_uri(uri: str) -> str:
    """An absolute ``.db`` path for Milvus Lite, or the server URI as given."""
    uri = uri.strip()
    if not uri:
        raise SettingError("milvus_uri", "empty: give a .db file path or http://host:19530")
    if not is_lite(uri):
        return uri.rstrip("/")
    path = Path(uri).expanduser()
    if path.suffix != ".db":
        raise SettingError("milvus_uri", f"{uri}: a local Milvus Lite file must end in .db (or use http://host:port)")
    return str(path.resolve())


def client(uri: str) -> Any:
    """One ``MilvusClient`` per URI per process (Milvus Lite: starts the embedded engine)."""
    with _lock:
        if uri in _clients:
            return _clients[uri]
        from pymilvus import MilvusClient

        if is_lite(uri):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            made = MilvusClient(uri, timeout=30)
        except Exception as exc:
            if is_lite(uri):
                raise IndexError_(
                    f"cannot open Milvus Lite file {uri}: another process has it open (Milvus Lite allows one "
                    f"process per .db; stop it, or run `milvus-lite server --data-dir {uri}` and use an "
                    f"http:// URI)") from exc
            raise IndexError_(f"cannot reach Milvus at {uri} ({short_error(exc)})") from exc
        _clients[uri] = made
        return made


def release(uri: str) -> None:
    """Close this process's client for ``uri``; for Milvus Lite also free the file for other processes."""
    with _lock:
        made = _clients.pop(uri, None)
    if made is not None:
        made.close()
    if is_lite(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def short_error(exc: BaseException) -> str:
    """The first line of a Milvus error, for one-line messages."""
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:200]


def server_version(uri: str) -> str:
    return str(client(uri).get_server_version())


def runs_lite(uri: str) -> bool:
    """Milvus Lite, embedded or behind ``milvus-lite server`` (its version says so)."""
    return is_lite(uri) or server_version(uri).startswith("milvus_lite")

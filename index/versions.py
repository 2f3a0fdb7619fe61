"""Atomic index versions: build beside the old one, then switch a symlink in one ``os.replace``.

Layout (``index_dir`` = ``.footnote/index``)::

    .footnote/index -> index.versions/v000004     relative symlink, the only thing readers open
    .footnote/index.versions/v000003/             the previous version (kept for readers mid-load)
    .footnote/index.versions/v000004/             the current version
    .footnote/index.versions/.tmp-v000005-1234/   a build in progress (removed if it never finishes)
    .footnote/index.versions/.lock                one writer at a time
    .footnote/index.uploads/                      documents uploaded through the API, ingested with the corpus

A version folder is complete before it gets its final name, and the symlink moves only after that, so
a kill at any moment leaves ``index_dir`` pointing at a complete index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from footnote.errors import IndexBusy, SettingError
from footnote.index.files import MANIFEST

_VERSION = re.compile(r"^v(\d{6,})$")
_BUILD = re.compile(r"^\.tmp-v\d{6,}-(\d+)$")


def versions_dir(index_dir: Path) -> Path:
    return index_dir.parent / f"{index_dir.name}.versions"


def is_version(name: str) -> bool:
    """Whether ``name`` is a version folder's (``v000004``), not a build in progress or the lock."""
    return _VERSION.match(name) is not None


def uploads_dir(index_dir: Path) -> Path:
    """The managed folder of uploaded documents, beside the index; always ingested with the corpus."""
    return index_dir.parent / f"{index_dir.name}.uploads"


def resolve(index_dir: Path) -> Path | None:
    """The version folder ``index_dir`` stands for now, or None when there is none."""
    if index_dir.is_symlink():
        target = Path(os.path.realpath(index_dir))
        return target if target.is_dir() else None
    if (index_dir / MANIFEST).is_file():
        return index_dir
    return None


def current_version(index_dir: str | Path) -> str | None:
    """The current version name (e.g. ``"v000004"``), cheaply: one readlink, no file reads."""
    index_dir = Path(index_dir)
    try:
        return Path(os.readlink(index_dir)).name
    except FileNotFoundError:
        return None
    except OSError:  # not a symlink: a plain folder (copied index) names its version in its manifest
        try:
            with (index_dir / MANIFEST).open(encoding="utf-8") as fh:
                return str(json.load(fh).get("version")) or None
        except (OSError, ValueError, AttributeError):
            return None


def _numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return [int(m.group(1)) for e in os.listdir(folder) if (m := _VERSION.match(e))]


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the one-writer lock for ``index_dir`` (a second ingest fails fast with a clear message)."""
    folder = versions_dir(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusy(f"another `footnote ingest` is updating {index_dir}; wait for it to finish") from exc
        try:
            yield
        finally:
            # A first run that built nothing (NothingIngested, Ctrl-C) leaves no empty versions folder behind.
            if not index_dir.is_symlink() and not index_dir.exists() and os.listdir(folder) == [".lock"]:
                with contextlib.suppress(OSError):
                    shutil.rmtree(folder)
            fcntl.flock(fh, fcntl.LOCK_UN)


def adopt_plain_folder(index_dir: Path) -> None:
    """Make room for the symlink where ``index_dir`` is a real folder (hold the writer lock)."""
    if index_dir.is_symlink() or not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise SettingError("index_dir", f"{index_dir} exists and is not a folder; choose another")
    if not any(index_dir.iterdir()):
        index_dir.rmdir()
        return
    if not (index_dir / MANIFEST).is_file():
        raise SettingError("index_dir", f"{index_dir} is a folder that Footnote did not make; remove it or choose "
                                        "another")
    # A copied index: move it into the versions folder so it becomes the "previous" version.
    folder = versions_dir(index_dir)
    name = f"v{max(_numbers(folder), default=0) + 1:06d}"
    os.rename(index_dir, folder / name)
    os.symlink(os.path.relpath(folder / name, index_dir.parent), index_dir)


def new_build_folder(index_dir: Path) -> tuple[str, Path]:
    """(version name, empty temporary folder to build it in)."""
    folder = versions_dir(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    current = current_version(index_dir)
    numbers = _numbers(folder)
    if current and (m := _VERSION.match(current)):
        numbers.append(int(m.group(1)))
    name = f"v{max(numbers, default=0) + 1:06d}"
    tmp = folder / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return name, tmp


def remove_stale_builds(index_dir: Path) -> list[tuple[str, int]]:
    """Remove the unfinished builds (and temporary links) of ingests that are no longer running: a
    ``kill -9`` leaves its ``.tmp-vNNNNNN-<pid>`` folder, as big as a whole index. Call at the start of
    every run, holding the writer lock; a build whose process still runs is left alone.
    Returns (name, bytes) of each folder removed."""
    folder = versions_dir(index_dir)
    removed: list[tuple[str, int]] = []
    for entry in sorted(os.listdir(folder)) if folder.is_dir() else []:
        match = _BUILD.match(entry)
        if match and not _running(int(match.group(1))):
            size = sum(f.stat().st_size for f in (folder / entry).rglob("*") if f.is_file() and not f.is_symlink())
            shutil.rmtree(folder / entry, ignore_errors=True)
            removed.append((entry, size))
    for stray in index_dir.parent.glob(f".{index_dir.name}.link-*"):
        pid = stray.name.rpartition("-")[2]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                stray.unlink()
    return removed


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process other than this one (a zombie is dead; this process, at the start
    of a run, has no build of its own in progress)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, tmp: Path, name: str) -> Path:
    """Give the finished ``tmp`` folder its version name and point ``index_dir`` at it, atomically."""
    for file in tmp.rglob("*"):
        if file.is_file():
            _fsync_path(file)
    final = tmp.parent / name
    os.rename(tmp, final)
    _fsync_path(final.parent)
    link_tmp = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link_tmp.unlink()
    os.symlink(os.path.relpath(final, index_dir.parent), link_tmp)
    os.replace(link_tmp, index_dir)
    _fsync_path(index_dir.parent)
    return final


def collect_garbage(index_dir: Path, keep: set[str]) -> list[str]:
    """Remove version folders not in ``keep``, unfinished builds and stray links (hold the writer lock)."""
    folder = versions_dir(index_dir)
    removed: list[str] = []
    if folder.is_dir():
        for entry in os.listdir(folder):
            if entry in keep or entry == ".lock":
                continue
            if _VERSION.match(entry) or entry.startswith(".tmp-"):
                shutil.rmtree(folder / entry, ignore_errors=True)
                removed.append(entry)
    for stray in index_dir.parent.glob(f".{index_dir.name}.link-*"):
        with contextlib.suppress(OSError):
            stray.unlink()
    return removed

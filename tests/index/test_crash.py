"""Interrupted builds: Ctrl-C or kill -9 at any step leaves the previous index loadable, and the next
run cleans up after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from footnote.index import versions, writer
from footnote.index.build import update_index
from footnote.index.load import load
from tests.conftest import ARTICLE, ROOT
from tests.index.fakes import CountingEmbedder, HashingEmbedder


def _edit(docs: Path, n: int = 0) -> None:
    article = docs / ARTICLE.name
    article.write_text(article.read_text("utf-8") + f"\nA new closing sentence, number {n}.\n", "utf-8")


def _listing(index_dir: Path) -> list[str]:
    return sorted(os.listdir(versions.versions_dir(index_dir)))


def _strays(index_dir: Path) -> list[str]:
    return [p.name for p in index_dir.parent.iterdir() if p.name.startswith(f".{index_dir.name}.link-")]


def test_ctrl_c_while_embedding_keeps_the_old_index(docs: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None,
                 embedder=CountingEmbedder())
    _edit(docs)
    with pytest.raises(KeyboardInterrupt):
        update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None,
                     embedder=CountingEmbedder(explode_after=0))
    assert load(index_dir).version == "v000001"
    assert _listing(index_dir) == [".lock", "v000001"]


def test_ctrl_c_while_writing_keeps_the_old_index(docs: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = tmp_path / "index"
    embedder = HashingEmbedder()
    update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None, embedder=embedder)
    _edit(docs)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "build_bm25", interrupted)  # after the arrays and FAISS file are written
    with pytest.raises(KeyboardInterrupt):
        update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None, embedder=embedder)
    assert load(index_dir, embedder=embedder).version == "v000001"
    assert _listing(index_dir) == [".lock", "v000001"]


KILLER = r"""
import os, signal, sys
from pathlib import Path
from footnote.index import build, manifest, versions
from tests.index.fakes import HashingEmbedder

step, docs, index_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if step == "writing":            # every data file written, the manifest not yet
    manifest.Manifest.write = die
elif step == "renamed":          # the version folder has its final name, the symlink not switched yet
    real_fsync = versions._fsync_path
    def fsync(path):
        if path == versions.versions_dir(index_dir):
            die()
        real_fsync(path)
    versions._fsync_path = fsync
elif step == "switched":         # the symlink switched, old versions not yet collected
    versions.collect_garbage = die
build.update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=print, embedder=HashingEmbedder())
"""


@pytest.mark.parametrize(("step", "survivor"), [("writing", "v000001"), ("renamed", "v000001"),
                                                ("switched", "v000002")])
def test_kill_9_at_any_step_leaves_a_loadable_index(docs: Path, tmp_path: Path, step: str, survivor: str) -> None:
    index_dir = tmp_path / "index"
    embedder = HashingEmbedder()
    update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None, embedder=embedder)
    _edit(docs)
    proc = subprocess.run([sys.executable, "-c", KILLER, step, str(docs), str(index_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    idx = load(index_dir, embedder=embedder)
    assert idx.version == survivor
    assert ("A new closing sentence" in idx.documents["technology-policy-of-japan"].text) == (step == "switched")

    # The next run finishes the job and leaves only the current and the previous version.
    _edit(docs, 1)
    report = update_index([docs], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None,
                          embedder=embedder)
    assert load(index_dir, embedder=embedder).version == report.version
    assert _listing(index_dir) == [".lock", survivor, report.version]
    assert _strays(index_dir) == []

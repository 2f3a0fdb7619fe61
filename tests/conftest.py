"""Shared fixtures: isolated environment, the real corpus, and one real index built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
REPORT = CORPUS / "cet-index-2025-japan-report.txt"
ARTICLE = CORPUS / "technology-policy-of-japan.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's FOOTNOTE_* variables or writes outside its temp dir."""
    for name in list(os.environ):
        if name.startswith("FOOTNOTE_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOOTNOTE_INDEX_DIR", str(tmp_path / "index"))
    yield


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default corpus ingested and indexed once, with default settings. Treat as read-only."""
    from footnote.index.build import update_index
    from footnote.settings import Settings

    out = tmp_path_factory.mktemp("corpus-index") / "index"
    defaults = Settings()
    update_index([CORPUS], out, chunk_tokens=defaults.chunk_tokens, overlap=defaults.chunk_overlap,
                 echo=lambda line: None)
    return out

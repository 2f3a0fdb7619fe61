"""Fixtures for index tests: a private copy of the corpus to change, and the session index loaded once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ARTICLE, REPORT

if TYPE_CHECKING:
    from footnote.index.load import Index


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A writable folder holding copies of the two seed documents."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(REPORT, folder / REPORT.name)
    shutil.copy(ARTICLE, folder / ARTICLE.name)
    return folder


@pytest.fixture(scope="session")
def corpus(corpus_index: Path) -> Index:
    """The session index, loaded once (read-only)."""
    from footnote.index.load import load

    return load(corpus_index)

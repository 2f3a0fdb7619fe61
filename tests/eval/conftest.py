"""Eval fixtures: the shipped set run once through the real index and answerer, and a small tricky set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SMALL_SET = [
    {"id": "rapidus", "question": "Which startup aims at mass production of 2nm semiconductors?",
     "answers": ["Rapidus"], "evidence": ["They also support Rapidus, a startup aiming the mass production of 2nm "
                                          "semiconductors by 2027."],
     "doc": "cet-index-2025-japan-report", "answerable": True, "kind": "factual"},
    {"id": "follow-up", "question": "Who is it partnering with?",
     "history": [{"role": "user", "content": "What is Rapidus?"},
                 {"role": "assistant", "content": "Rapidus is a startup aiming the mass production of 2nm "
                                                  "semiconductors by 2027."}],
     "answers": ["IBM"], "evidence": ["Rapidus is partnering with IBM"],
     "doc": "cet-index-2025-japan-report", "answerable": True, "kind": "followup"},
    {"id": "<b>markup</b>", "question": "What is <script>alert('x')</script> & the population of Osaka?",
     "answers": [], "evidence": [], "doc": None, "answerable": False, "kind": "unanswerable"},
]


@pytest.fixture(scope="session")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sets") / "small.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in SMALL_SET), "utf-8")
    return path


@pytest.fixture(scope="session")
def small_report(corpus_index: Path, small_set: Path) -> dict[str, Any]:
    from footnote.eval.run import run_eval

    return run_eval([small_set], corpus_index)


@pytest.fixture(scope="session")
def default_report(corpus_index: Path) -> dict[str, Any]:
    """The shipped set through the real index and answerer, all three modes (about half a minute)."""
    from footnote.eval.run import run_eval

    return run_eval([], corpus_index)


@pytest.fixture(scope="session")
def blind_report(corpus_index: Path) -> dict[str, Any]:
    """The blind set (never fitted on) through the real index and answerer, hybrid only (about 15 seconds)."""
    from footnote.eval.dataset import BLIND_SET
    from footnote.eval.run import run_eval

    return run_eval([BLIND_SET], corpus_index, modes=("hybrid",))


@pytest.fixture(scope="session")
def wiki_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """wiki-topics (never fitted on) on its own 30 documents, as `footnote eval --corpus` runs it (about a minute)."""
    from footnote.eval.dataset import WIKI_DOCS, WIKI_SET
    from footnote.eval.run import run_on_corpus
    from footnote.settings import Settings

    return run_on_corpus([WIKI_SET], WIKI_DOCS, ("hybrid",), settings=Settings())

"""One analyzer: BM25, the answer step and the follow-up rewriter read text the same way."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from footnote.errors import InputError
from footnote.index.hits import Mode
from footnote.index.load import load
from footnote.index.text import analyzer
from footnote.service.answering.question import question_analyzer


def test_accents_are_folded_not_dropped() -> None:
    assert analyzer.terms("naïve Zürich résumé") == ["naiv", "zurich", "resum"]
    assert analyzer.terms("Ｆｕｌｌ-width ﬁnance") == ["full", "width", "financ"]


def test_questions_drop_the_words_that_ask() -> None:
    assert analyzer.terms("Tell me what the report says about Rapidus") == ["tell", "me", "what", "report", "say",
                                                                             "about", "rapidus"]
    assert question_analyzer.terms("Tell me what the report says about Rapidus") == ["rapidus"]


def test_idf_is_the_bm25_models(corpus_index: Path) -> None:
    index = load(corpus_index)
    n = len(index.passages)
    bm25 = index.retriever(Mode.BM25)
    df = bm25.df("rapidus")  # type: ignore[attr-defined]
    assert 0 < df < n
    assert index.idf("rapidus") == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    assert index.known("rapidus") and not index.known("zzzunseen")
    assert index.idf("zzzunseen") == pytest.approx(math.log(1 + (n + 0.5) / 0.5))


def test_unknown_mode_names_the_modes() -> None:
    assert Mode.parse("bm25") is Mode.BM25
    with pytest.raises(InputError, match=r"unknown search mode 'sparse': use one of hybrid, dense, bm25"):
        Mode.parse("sparse")

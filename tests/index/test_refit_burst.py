"""Fusion is not moved by a burst (issue 26): a re-fit needs a real change of the corpus in documents, not in
requests or passages."""

from __future__ import annotations

from pathlib import Path

from footnote.index.build import update_index
from footnote.index.fit import REFIT_MIN_DOCUMENTS, needs_refit
from footnote.index.hybrid import FusionFit, FusionParams
from tests.service.upload_helpers import filler


def test_needs_refit_counts_documents() -> None:
    fit = FusionFit(FusionParams(method="convex", dense_weight=0.5, bm25_weight=0.5), fitted=True, seed=0,
                    method="held-out sentence", pseudo_queries=50, passages=100, documents=40)
    assert needs_refit(fit, 200, 100, documents=49, documents_changed=9) is False  # passages yes, documents few
    assert needs_refit(fit, 200, 100, documents=45, documents_changed=REFIT_MIN_DOCUMENTS) is True
    assert needs_refit(fit, 400, 300, documents=400, documents_changed=80) is False  # 80 of 400: not over 20 %
    assert needs_refit(fit, 400, 300, documents=400, documents_changed=81) is True
    assert needs_refit(fit, 110, 20, documents=80, documents_changed=40) is False  # passages barely moved


def test_a_burst_of_junk_documents_keeps_the_fit(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for i in range(12):
        (corpus / f"notes-{i}.txt").write_bytes(filler(10, seed=i))
    first = update_index([corpus], index, echo=lambda line: None)
    assert first.fusion_refit and first.fusion is not None and first.fusion.documents == 12
    for i in range(REFIT_MIN_DOCUMENTS - 1):  # junk many times the corpus's passages, one document each
        (corpus / f"junk-{i}.txt").write_bytes(filler(80, seed=100 + i))
    burst = update_index([corpus], index, echo=lambda line: None)
    assert burst.fusion is not None and not burst.fusion_refit
    assert burst.fusion.params == first.fusion.params
    assert burst.fusion.documents_changed_since_fit == REFIT_MIN_DOCUMENTS - 1
    assert burst.fusion.changed_since_fit > burst.passages // 2
    (corpus / "more.txt").write_bytes(filler(10, seed=99))  # the tenth document: a real change now
    grown = update_index([corpus], index, echo=lambda line: None)
    assert grown.fusion is not None and grown.fusion_refit
    assert (grown.fusion.documents, grown.fusion.documents_changed_since_fit) == (22, 0)

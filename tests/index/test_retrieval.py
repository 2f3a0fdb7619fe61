"""Retrieval on the real corpus with the real model, FAISS and bm25s: the right passage, in every mode."""

from __future__ import annotations

import numpy as np
import pytest

from footnote.index.hits import Hit
from footnote.index.hybrid import FusionParams

MODES = ["hybrid", "dense", "bm25"]

# (question, a phrase the expected passage's text contains, a phrase its footnotes contain or None)
QUESTIONS = [
    ("Which company produces cutting-edge NAND memory?", "KIOXIA continues to produce cutting-edge NAND", None),
    ("Rapidus partnership with IBM", "Rapidus is partnering with IBM", None),
    ("which Rapidus press release is cited?", "Rapidus is partnering with IBM",
     "IBM and Rapidus Form Strategic Partnership"),
    ("what does the report cite for the DX claim?", "has not progressed sufficiently", "DX White Paper 2023"),
]


def _plain(text: str) -> str:
    return text.replace("**", "")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("question", "phrase", "cited"), QUESTIONS)
def test_finds_the_passage(corpus, mode: str, question: str, phrase: str, cited: str | None) -> None:
    hits = corpus.retriever(mode).search(question, 3)
    top = hits[0].passage
    assert phrase in _plain(top.text), f"{mode}: {question!r} -> {top.id}: {top.text[:120]}"
    if cited is not None:
        assert any(cited in c.text for c in top.citations)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_footnote_urls_are_searchable(corpus) -> None:
    hits = corpus.retriever("bm25").search("rapidus-joins-imecs-core-partner-program", 1)
    assert any("imec" in url for c in hits[0].passage.citations for url in c.urls)


def test_hit_to_dict_is_the_passage_plus_score(corpus) -> None:
    hit = corpus.retriever("hybrid").search("Rapidus partnership with IBM", 1)[0]
    row = hit.to_dict()
    assert isinstance(hit, Hit)
    assert row == {**hit.passage.to_dict(), "score": hit.score}
    assert {"id", "doc_id", "title", "section", "text", "start", "end", "tokens", "citations", "sentences"} <= set(row)
    doc = corpus.documents[hit.passage.doc_id]
    assert doc.text[row["start"]:row["end"]] == row["text"]


def test_precomputed_query_vector_gives_the_same_ranking(corpus) -> None:
    question = "How does Japan support semiconductor manufacturing?"
    vec = corpus.embed_query(question)
    assert vec.shape == (corpus.dim,) and vec.dtype == np.float32
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
    dense = corpus.retriever("dense")
    assert [h.passage.id for h in dense.search_vector(vec, 5)] == [h.passage.id for h in dense.search(question, 5)]
    hybrid = corpus.retriever("hybrid")
    assert [h.passage.id for h in hybrid.search(question, 5, query_vector=vec)] == \
        [h.passage.id for h in hybrid.search(question, 5)]


def test_fusion_weights_select_one_side(corpus) -> None:
    question = "Rapidus partnership with IBM"
    only_bm25 = corpus.retriever("hybrid", fusion=FusionParams(dense_weight=0.0)).search(question, 5)
    assert [h.passage.id for h in only_bm25] == [h.passage.id for h in corpus.retriever("bm25").search(question, 5)]


def test_k_larger_than_the_index_and_unknown_words(corpus) -> None:
    n = len(corpus.passages)
    assert len(corpus.retriever("dense").search("semiconductors", n + 50)) == n
    assert corpus.retriever("bm25").search("zzqxv qqwxz", 5) == []
    assert len(corpus.retriever("hybrid").search("zzqxv qqwxz", 5)) == 5  # dense always has neighbours


def test_sentence_vectors_match_the_model(corpus) -> None:
    passage = corpus.retriever("bm25").search("KIOXIA NAND memory", 1)[0].passage
    spans, vectors = corpus.sentence_vectors(passage.id)
    assert spans == passage.sentences and vectors.shape == (len(spans), corpus.dim)
    text = corpus.documents[passage.doc_id].text
    start, end = spans[0]
    fresh = corpus.embedder.embed([text[start:end]])[0]
    assert float(fresh @ vectors[0]) > 0.999


def test_bm25_scores_agree_with_bm25s(corpus) -> None:
    """Our one-bincount scoring must equal bm25s's own scoring of the same tokens."""
    from footnote.index.text import analyzer

    retriever = corpus.retriever("bm25")
    for question in ("Rapidus partnership with IBM", "quantum computing talent", "digital transformation DX"):
        tokens = [t for t in analyzer.terms(question) if t in retriever.model.vocab_dict]
        expected = retriever.model.get_scores(tokens)
        assert np.allclose(retriever.scores(question), expected, atol=1e-5)


def test_unknown_mode_and_passage(corpus) -> None:
    from footnote.errors import InputError, NotFound

    with pytest.raises(InputError, match="unknown search mode"):
        corpus.retriever("fuzzy")
    with pytest.raises(NotFound):
        corpus.passage("no-such-passage")

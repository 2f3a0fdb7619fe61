"""The neural reader's weights: loaded only when their sha256 is the one the fitted reader recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from footnote.errors import InputError
from footnote.service.answering.answerer import AnswerSettings
from footnote.service.answering.cross import CrossEncoder, file_sha256, pair_text
from footnote.service.answering.model import NEURAL_PARAMS, load_model

WEIGHTS = NEURAL_PARAMS.parent / "cross-encoder.safetensors"
NEURAL = AnswerSettings(reader="neural")


def test_the_shipped_weights_are_the_ones_the_reader_was_fitted_with() -> None:
    spec = load_model(NEURAL_PARAMS).cross
    assert spec is not None and spec.file == WEIGHTS
    assert file_sha256(WEIGHTS) == spec.sha256
    # Small: the tuned layers and the head alone, in float16.
    assert WEIGHTS.stat().st_size < 10_000_000


def test_a_wrong_weights_file_is_refused_with_one_line_naming_it(tmp_path: Path) -> None:
    wrong = tmp_path / WEIGHTS.name
    wrong.write_bytes(WEIGHTS.read_bytes()[:-1] + b"\x00")
    expected = file_sha256(WEIGHTS)
    with pytest.raises(InputError) as caught:
        CrossEncoder.load(wrong, expected)
    message = str(caught.value)
    assert message.startswith(f"{wrong}: sha256 {file_sha256(wrong)} is not the cross-encoder the reader was "
                              f"fitted with ({expected})")
    assert "\n" not in message


def test_missing_weights_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the reader's cross-encoder weights are missing"):
        CrossEncoder.load(tmp_path / "none.safetensors", "0" * 64)


def test_the_candidate_reads_sentence_first_then_heading_and_the_sentence_before() -> None:
    assert pair_text("It was founded in 1998.", "Mozilla › History", "Netscape released its code.\n") == (
        "It was founded in 1998. | Mozilla › History | Netscape released its code.")
    assert pair_text("Alone.", "", "") == "Alone."


def test_rerank_puts_the_answering_passage_first(corpus_index: Path) -> None:
    from footnote.index.hits import Hit
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer

    index = load(corpus_index)
    answering = next(p for p in index.passages if "Rapidus is partnering with IBM" in p.text)
    other = next(p for p in index.passages if p.doc_id != answering.doc_id and "Rapidus" not in p.text)
    hits = [Hit(other, 0.9), Hit(answering, 0.5)]
    reranked = Answerer(index, NEURAL).rerank("Who is Rapidus partnering with?", hits)
    assert [h.passage.id for h in reranked] == [answering.id, other.id]
    assert reranked[0].score > reranked[1].score
    assert 0.0 <= reranked[1].score <= reranked[0].score <= 1.0


def test_search_reranks_over_http(corpus_index: Path) -> None:
    from fastapi.testclient import TestClient

    from footnote.service.app import create_app
    from footnote.settings import Settings

    with TestClient(create_app(settings=Settings(index_dir=corpus_index, reader="neural"))) as client:
        body = {"query": "Who is Rapidus partnering with?", "k": 5}
        plain = client.post("/search", json=body).json()["passages"]
        reranked = client.post("/search", json={**body, "rerank": True}).json()["passages"]
    assert sorted(p["passage_id"] for p in plain) == sorted(p["passage_id"] for p in reranked)
    assert "Rapidus is partnering with IBM" in reranked[0]["text"]
    assert [p["score"] for p in reranked] == sorted((p["score"] for p in reranked), reverse=True)

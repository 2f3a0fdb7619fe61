"""The query runtime: the packaged model exported to ONNX Runtime gives torch's vectors, or torch is used."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from footnote.index.embed import FEW_TEXTS, ONNX_TOLERANCE, Embedder, OnnxQueries, get_embedder

QUESTIONS = [
    "Who is it partnering with?",
    "Which startup aims to mass-produce 2nm semiconductors by 2027?",
    "What rank did Japan get overall?",
]


def test_queries_run_on_onnx_and_match_torch() -> None:
    onnx = get_embedder(query_runtime="onnx")
    torch_only = get_embedder(query_runtime="torch")
    assert onnx.prepare_queries() == "onnx"
    assert torch_only.prepare_queries() == "torch"
    one_by_one = np.stack([onnx.embed([q], progress=False)[0] for q in QUESTIONS])
    batch = onnx.embed(QUESTIONS, progress=False)
    expected = torch_only.embed(QUESTIONS, progress=False)
    assert one_by_one.dtype == np.float32 and one_by_one.shape == (3, onnx.dim)
    assert float(np.abs(one_by_one - expected).max()) <= ONNX_TOLERANCE
    assert float(np.abs(batch - expected).max()) <= ONNX_TOLERANCE
    assert np.allclose(np.linalg.norm(one_by_one, axis=1), 1.0, atol=1e-5)


def test_many_texts_still_run_on_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = get_embedder(query_runtime="onnx")
    embedder.prepare_queries()

    def refuse(*_: object) -> None:
        raise AssertionError("ONNX Runtime used for a batch")

    monkeypatch.setattr(OnnxQueries, "embed", refuse)
    texts = [f"passage number {i}" for i in range(FEW_TEXTS + 1)]
    assert embedder.embed(texts, progress=False).shape == (FEW_TEXTS + 1, embedder.dim)
    with pytest.raises(AssertionError, match="ONNX Runtime used for a batch"):
        embedder.embed(texts[:1], progress=False)


def test_nothing_compiles_unasked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-shot command (``footnote ask``) never pays for the export: only ``prepare_queries`` compiles."""

    def refuse(*_: object) -> None:
        raise AssertionError("compiled unasked")

    monkeypatch.setattr(OnnxQueries, "compile", refuse)
    embedder = Embedder()
    assert embedder.embed(QUESTIONS[:1], progress=False).shape == (1, embedder.dim)
    assert Embedder(query_runtime="torch").prepare_queries() == "torch"


def test_a_model_that_does_not_export_falls_back_to_torch(caplog: pytest.LogCaptureFixture) -> None:
    class NotAModel:
        def preprocess(self, texts: list[str]) -> dict[str, object]:
            raise RuntimeError("no tokenizer here")

    with caplog.at_level(logging.WARNING, logger="footnote.index.embed"):
        assert OnnxQueries.compile(NotAModel()) is None
    assert "queries run on torch: the ONNX export failed (no tokenizer here)" in caplog.text


def test_an_export_that_differs_from_torch_is_not_used(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    import footnote.index.embed as embed

    monkeypatch.setattr(embed, "ONNX_TOLERANCE", -1.0)  # no export can be this close
    with caplog.at_level(logging.WARNING, logger="footnote.index.embed"):
        assert OnnxQueries.compile(get_embedder()._model) is None
    assert "queries run on torch: the ONNX export differs from torch by" in caplog.text

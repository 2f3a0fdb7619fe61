"""The calibrated reader on the real corpus: it abstains off topic, quotes only what answers, follows threads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from footnote.index.kept import Kept
from footnote.service.answering.answerer import Answerer
from footnote.service.answering.features import navigation
from footnote.service.answering.model import NEURAL_PARAMS, PARAMS, load_model
from footnote.service.app import create_app
from footnote.service.models import AnswerRequest

ROOT = Path(__file__).resolve().parents[2]
G_QUAT_URL = "https://unit.aist.go.jp/g-quat/index_en.html"


@pytest.fixture(scope="module")
def client(corpus_index: Path) -> Iterator[TestClient]:
    with TestClient(create_app(index_dir=corpus_index)) as c:
        yield c


def ask(client: TestClient, question: str, *turns: tuple[str, str]) -> dict:
    history = [{"role": role, "content": content} for role, content in turns]
    response = client.post("/answer", json={"question": question, "history": history})
    assert response.status_code == 200, response.text
    return response.json()


# None of these is in the data the reader was fitted on (eval/sets/offtopic.jsonl holds other questions).
@pytest.mark.parametrize("question", ["What was Japan's inflation rate in 2023?", "Who is the president of Fujitsu?",
                                      "What is the capital of Japan?"])
def test_off_topic_questions_abstain(client: TestClient, question: str) -> None:
    body = ask(client, question)
    assert body["grounded"] is False and body["footnotes"] == []
    assert body["answer"] == "Not found in the documents."
    assert 0.0 <= body["confidence"] < load_model().abstain_below


def test_a_low_confidence_answer_says_so(client: TestClient) -> None:
    body = ask(client, "What rank did Japan get overall?")
    assert body["grounded"] is True
    assert body["uncertain"] is (body["confidence"] < load_model().confident_from)
    if body["uncertain"]:
        assert body["answer"].startswith("The documents may not answer this question")


def test_overall_rank_is_one_quote(client: TestClient) -> None:
    body = ask(client, "What rank did Japan get overall?")
    assert len(body["footnotes"]) == 1
    assert "4th overall" in body["footnotes"][0]["quote"] or "fourth overall" in body["footnotes"][0]["quote"]
    assert body["footnotes"][0]["confidence"] > 0.0


def test_it_is_what_the_last_answer_named(client: TestClient) -> None:
    first = ask(client, "Which startup aims to mass-produce 2nm semiconductors by 2027?")
    assert any("Rapidus" in n["quote"] for n in first["footnotes"])
    second = ask(client, "Who is it partnering with?",
                 ("user", "Which startup aims to mass-produce 2nm semiconductors by 2027?"),
                 ("assistant", first["answer"]))
    assert second["query"] == "Who is Rapidus partnering with?"
    assert "Rapidus is partnering with IBM" in second["footnotes"][0]["quote"]


def test_three_turns_end_at_the_reports_source(client: TestClient) -> None:
    q1 = "Which research center gives private companies access to quantum computers?"
    a1 = ask(client, q1)
    assert "G-QuAT" in a1["footnotes"][0]["quote"]
    a2 = ask(client, "Who established it?", ("user", q1), ("assistant", a1["answer"]))
    assert a2["query"] == "Who established G-QuAT?"
    assert "National Institute of Advanced Industrial Science and Technology" in a2["footnotes"][0]["quote"]
    a3 = ask(client, "Where can I read more about it?", ("user", q1), ("assistant", a1["answer"]),
             ("user", "Who established it?"), ("assistant", a2["answer"]))
    assert a3["grounded"] is True and "G-QuAT" in a3["query"]
    urls = [u for c in a3["footnotes"][0]["citations"] for u in c["urls"]]
    assert urls == [G_QUAT_URL]


def test_a_follow_up_does_not_quote_the_last_answer_again(client: TestClient) -> None:
    q1 = "What does MEXT lead at the ministerial level?"
    a1 = ask(client, q1)
    assert "MEXT leads research and development" in a1["footnotes"][0]["quote"]
    a2 = ask(client, "And METI?", ("user", q1), ("assistant", a1["answer"]))
    assert a2["query"] == "What does METI lead at the ministerial level?"
    quotes = [n["quote"] for n in a2["footnotes"]]
    assert quotes[0].startswith("METI oversees R&D and the promotion of industrial technologies")
    assert not any("MEXT leads" in q for q in quotes)
    # An earlier answer the client cut short still counts as said.
    cut = ask(client, "And METI?", ("user", q1), ("assistant", a1["answer"][:120]))
    assert cut["footnotes"][0]["quote"] == quotes[0]
    # Asked on its own, the same question may quote what an earlier answer quoted.
    again = ask(client, q1, ("user", q1), ("assistant", a1["answer"]))
    assert again["footnotes"][0]["quote"] == a1["footnotes"][0]["quote"]


def test_what_counts_as_already_said(corpus_index: Path) -> None:
    from footnote.index.load import load
    from footnote.service.answering.answerer import Said, already_said

    index = load(corpus_index)
    history = [("user", "What is AISI?"), ("assistant", "“Japan  established AISI.” [1]")]
    said = ("“Japan established AISI.” [1]",)
    # Asking past what was said: the last quote is never quoted again.
    assert already_said("What else does it study?", history, index) == Said(said)
    assert already_said("And Rapidus?", history, index) == Said(said)
    assert already_said("Besides that, who funds it?", history, index) == Said(said)
    # A plain follow-up: only when the quote holds one of its own words ("established" does; "funds" does not).
    who = already_said("Who established it?", history, index)
    assert who == Said(said, frozenset({"establish"}))
    assert who.allows({"japan", "establish", "aisi"}) and not Said(said, frozenset({"fund"})).allows({"aisi"})
    # A question of its own, the source of what was said, or no conversation: nothing to hold back.
    assert already_said("What is Rapidus?", history, index) == Said()
    assert already_said("Which source is cited for that?", history, index) == Said()
    assert already_said("What else does it study?", [], index) == Said()


def test_a_follow_up_asking_something_new_is_not_answered_by_the_last_quote(tmp_path: Path) -> None:
    import shutil

    from footnote.eval.dataset import WIKI_DOCS
    from footnote.eval.loop import index_folder
    from footnote.index.load import load
    from footnote.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(WIKI_DOCS / "texas-governors.md", docs)
    answerer = Answerer(load(index_folder(docs, tmp_path / "index", Settings())))
    intro = ("Beauford Halbert Jester (January 12, 1893 – July 11, 1949) was the 36th Governor of Texas, serving from "
             "1947 until 1949, when he died of a heart attack.")
    history = [{"role": "user", "content": "Who was the 36th Governor of Texas?"},
               {"role": "assistant", "content": intro}]
    # The quote that named him shares every word of the thread, but says nothing of a father.
    father = answerer.answer(AnswerRequest(question="Who was his father?", history=history))
    assert father.footnotes[0].quote == "Jester was the son of George Taylor Jester."
    # It still answers a follow-up that uses its words.
    died = answerer.answer(AnswerRequest(question="How did he die?", history=history))
    assert died.footnotes[0].quote == intro


@pytest.mark.parametrize("question", ["What are the related topics to see also?", "Energy policy of Japan",
                                      "What is the energy policy of Japan?"])
def test_see_also_entries_are_never_quoted(client: TestClient, corpus_index: Path, question: str) -> None:
    doc = client.get("/documents/technology-policy-of-japan").json()
    see_also = doc["text"].index("See also\n")
    body = ask(client, question)
    for note in body["footnotes"]:
        assert not (note["doc_id"] == "technology-policy-of-japan" and note["start"] > see_also), note["quote"]


def test_link_lists_are_found_by_shape() -> None:
    text = "Intro sentence here.\nSee also\n- Japan\n- Society 5.0\n- Energy policy of Japan\nA closing sentence."
    spans = [(0, 20)]
    for line in ("See also", "Japan", "Society 5.0", "Energy policy of Japan", "A closing sentence."):
        start = text.index(line)
        spans.append((start, start + len(line)))
    assert navigation(spans, text) == {1, 2, 3, 4}


def test_a_pointing_back_quote_is_one_verbatim_span(client: TestClient) -> None:
    body = ask(client, "Which startup aims to mass-produce 2nm semiconductors by 2027?")
    note = next(n for n in body["footnotes"] if "They also support Rapidus" in n["quote"])
    assert not note["quote"].startswith("They")  # reaches back to what "They" are
    doc = client.get(f"/documents/{note['doc_id']}").json()
    assert doc["text"][note["start"] : note["end"]] == note["quote"]


@pytest.mark.slow
def test_training_reproduces_the_committed_parameters(corpus_index: Path, tmp_path: Path) -> None:
    from footnote.service.answering.train import main as train

    out = tmp_path / "reader.json"
    fitted = train(out=out, work=tmp_path / "work", corpus=ROOT / "corpus", corpus_index=corpus_index)
    committed = json.loads(PARAMS.read_text("utf-8"))
    assert fitted["features"] == committed["features"]
    assert fitted["meta"]["data_sha256"] == committed["meta"]["data_sha256"]
    assert fitted["meta"]["rows"] == committed["meta"]["rows"]
    for part in ("sentence", "answer"):
        for key in ("coef", "mean", "scale"):
            np.testing.assert_allclose(fitted[part][key], committed[part][key], rtol=1e-3, atol=1e-4)
    for name, value in committed["thresholds"].items():
        assert fitted["thresholds"][name] == pytest.approx(value, abs=0.011)


@pytest.mark.slow
def test_the_stack_refits_to_the_committed_parameters() -> None:
    """The small final layer (the stack over the features and the cross-encoder's logits) is refitted from the
    inputs training saved beside it, to the committed numbers."""
    from footnote.service.answering.train_neural import STACK_INPUTS, fit_stack, load_stack_inputs

    committed = json.loads(NEURAL_PARAMS.read_text("utf-8"))
    l2, l2_answer, sentence, answer, thresholds = fit_stack(load_stack_inputs(NEURAL_PARAMS.parent / STACK_INPUTS))
    assert (l2, l2_answer) == (committed["meta"]["l2"], committed["meta"]["l2_answer"])
    for part, fitted in (("sentence", sentence), ("answer", answer)):
        for key in ("coef", "mean", "scale"):
            assert [round(float(v), 6) for v in getattr(fitted, key)] == committed[part][key]
        assert round(float(fitted.intercept), 6) == committed[part]["intercept"]
    assert {k: round(float(v), 6) for k, v in thresholds.items()} == committed["thresholds"]


@pytest.mark.slow
def test_the_stack_inputs_are_what_the_answer_step_reads(corpus_index: Path) -> None:
    """The saved stack rows of the shipped set's questions are the rows the answer step builds today: the same
    features, and the same logits from the shipped cross-encoder."""
    from footnote.eval.dataset import DEFAULT_SET, load_sets
    from footnote.index.load import load
    from footnote.service.answering import train as lr
    from footnote.service.answering.answerer import load_cross
    from footnote.service.answering.model import Model
    from footnote.service.answering.train_neural import STACK_INPUTS, _with_cross, load_stack_inputs

    model = load_model(NEURAL_PARAMS)
    assert model.cross is not None and model.preselect is not None
    saved = {it["id"]: it for it in load_stack_inputs(NEURAL_PARAMS.parent / STACK_INPUTS)}
    questions = [q for q in load_sets([DEFAULT_SET]) if q.id in saved][:40]
    assert len(questions) == 40
    items = lr.collect(Answerer(load(corpus_index), model=replace(Model.neutral(), fusion="index")), questions)
    # The stack was fitted on float32 logits, whatever precision the reader runs at.
    rows = _with_cross(items, model.preselect, load_cross(model.cross, precision="float32"), echo=lambda line: None)
    for item in rows:
        np.testing.assert_allclose(item["rows"], saved[item["id"]]["rows"], rtol=1e-4, atol=1e-4)
        assert (item["labels"] == saved[item["id"]]["labels"]).all()


def test_feature_rows_do_not_depend_on_what_is_kept(corpus_index: Path) -> None:
    """The per-passage arrays give the same rows, to the bit, whether kept from an earlier question or not."""
    answerer = Answerer.from_index_dir(corpus_index)
    forgetful = Answerer(answerer.index)
    forgetful.features._blocks = Kept(1)
    for question in ("Which startup aims to mass-produce 2nm semiconductors by 2027?", "Who established it?",
                     "What rank did Japan get overall?"):
        a, b = answerer.best_reading(AnswerRequest(question=question)), forgetful.best_reading(
            AnswerRequest(question=question))
        assert [(s.doc_id, s.start, s.end) for s in a.sentences] == [(s.doc_id, s.start, s.end) for s in b.sentences]
        assert np.array_equal(np.stack([s.features for s in a.sentences]), np.stack([s.features for s in b.sentences]))
        assert len(forgetful.features._blocks) == 1

"""`footnote eval --squad`: a SQuAD v2.0 file the test writes, indexed through the normal ingest and asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from footnote.cli import main
from footnote.errors import InputError
from footnote.eval.metrics import auroc, squad_answer_found, squad_normalize
from footnote.eval.squad import read_squad
from footnote.service.answering.model import load_model

CONTEXT_A = ("The Kestrel Bridge crosses the Varn river at Oldmere. It was opened in 1894 by the engineer Mary "
             "Talbot. The bridge is 412 metres long and carries two railway tracks.")
CONTEXT_B = ("Oldmere is a market town known for its wool trade. Its weekly market has been held on Thursdays "
             "since the fourteenth century.")
SQUAD = {"version": "v2.0", "data": [{"title": "Kestrel_Bridge", "paragraphs": [
    {"context": CONTEXT_A, "qas": [
        {"id": "q-year", "question": "In what year was the Kestrel Bridge opened?", "is_impossible": False,
         "answers": [{"text": "1894", "answer_start": CONTEXT_A.index("1894")}]},
        {"id": "q-length", "question": "How long is the Kestrel Bridge?", "is_impossible": False,
         "answers": [{"text": "412 metres", "answer_start": CONTEXT_A.index("412 metres")}]},
        {"id": "q-closed", "question": "In what year was the Kestrel Bridge closed?", "is_impossible": True,
         "answers": [], "plausible_answers": [{"text": "1894", "answer_start": CONTEXT_A.index("1894")}]},
    ]},
    {"context": CONTEXT_B, "qas": [
        {"id": "q-market", "question": "On which day is the Oldmere market held?", "is_impossible": False,
         "answers": [{"text": "Thursdays", "answer_start": CONTEXT_B.index("Thursdays")}]},
        {"id": "q-mayor", "question": "Who is the mayor of Oldmere?", "is_impossible": True, "answers": []},
    ]},
]}]}


@pytest.fixture(scope="module")
def squad_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("squad") / "kestrel.json"
    path.write_text(json.dumps(SQUAD), "utf-8")
    return path


def test_read_squad_makes_one_document_and_expected_abstentions(squad_file: Path) -> None:
    files, questions = read_squad(squad_file)
    assert list(files) == ["kestrel-bridge.txt"]
    assert files["kestrel-bridge.txt"].startswith("Kestrel Bridge\n" + CONTEXT_A + "\n")
    assert [q.id for q in questions] == ["q-year", "q-length", "q-closed", "q-market", "q-mayor"]
    assert [q.answerable for q in questions] == [True, True, False, True, False]
    assert questions[0].evidence == ("It was opened in 1894 by the engineer Mary Talbot.",)
    assert questions[2].answers == () and questions[2].doc is None


def test_cli_reports_counts_and_abstentions(squad_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--squad", str(squad_file), "--modes", "hybrid",
                                       "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "5 questions (3 answerable, 0 follow-ups)" in result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    assert report["config"]["format"] == "squad2"
    rows = {q["id"]: q for q in report["questions"]}
    abstained = {qid for qid, q in rows.items() if not q["answer"]["grounded"]}
    # Nothing about a mayor anywhere. On this two-paragraph corpus the reader is not sure either way (0.63): it
    # answers with the sentence that names Oldmere, flagged as uncertain, below the fitted confident_from.
    assert "q-mayor" in abstained or rows["q-mayor"]["answer"]["confidence"] < load_model().confident_from
    assert set(rows) == {"q-year", "q-length", "q-closed", "q-market", "q-mayor"}
    assert [rows[q]["answerable"] for q in ("q-closed", "q-mayor")] == [False, False]
    answers = report["answers"]
    right = sum(rows[q]["answer"]["answer_found"] for q in ("q-year", "q-length", "q-market"))
    right += sum(q in abstained for q in ("q-closed", "q-mayor"))
    assert answers["squad2_overall"] == pytest.approx(right / 5)
    assert answers["abstention_recall"] == pytest.approx(len(abstained & {"q-closed", "q-mayor"}) / 2)
    assert "SQuAD 2.0 overall" in result.output and "confidence AUROC" in result.output
    assert "risk-coverage" in (tmp_path / "out" / "report.html").read_text("utf-8")


def test_a_file_that_is_not_squad_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": 3}', "utf-8")
    with pytest.raises(InputError, match="not SQuAD v2.0 JSON"):
        read_squad(bad)


def test_squad_normalisation_and_auroc() -> None:
    assert squad_normalize("The  Normans, in France!") == "normans in france"
    assert squad_answer_found(["the 10th century"], ["In the 10th century, they came."])
    assert not squad_answer_found(["France"], ["Franceville is elsewhere."])
    from sklearn.metrics import roc_auc_score

    scores, labels = [0.9, 0.4, 0.4, 0.2, 0.7, 0.1], [True, False, True, False, True, False]
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
